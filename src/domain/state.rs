//! Stored states: closed sets of values kept as text in the database.
//!
//! Each state is an enum declared with [`stored_state!`], which gives it its one stored
//! spelling, parsing, `Display`, serde (as the stored text) and diesel `FromSql` / `ToSql`
//! over `Text`, so rows leave the store already typed. A value the database holds that the
//! type does not know is a read error naming the columns it is kept in — never a silent
//! default. Labels and predicates live beside each type, in its own module.

/// Declares a stored state: `Name in "table.column, …" { Variant => "Spelling", … }`.
///
/// The spelling is what the database (and the Graph-shaped API) holds; the columns are named
/// in the error an unknown value gives.
macro_rules! stored_state {
    ($(#[$meta:meta])* $name:ident in $columns:literal {
        $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)?
    }) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash,
            diesel::expression::AsExpression, diesel::deserialize::FromSqlRow,
        )]
        #[diesel(sql_type = diesel::sql_types::Text)]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: [Self; [$($text),+].len()] = [$(Self::$variant),+];

            /// The columns that hold this state (named in read errors).
            pub const COLUMNS: &'static str = $columns;

            /// The stored (and Graph) spelling.
            pub const fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $text),+ }
            }

            /// Parses the stored spelling.
            pub fn parse(text: &str) -> Option<Self> {
                match text { $($text => Some(Self::$variant),)+ _ => None }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
                Self::parse(&text).ok_or_else(|| {
                    let expected: Vec<&str> = Self::ALL.iter().map(|v| v.as_str()).collect();
                    serde::de::Error::custom(format!(
                        "unknown {} {:?}; expected one of {}",
                        stringify!($name),
                        text,
                        expected.join(", ")
                    ))
                })
            }
        }

        impl<DB> diesel::deserialize::FromSql<diesel::sql_types::Text, DB> for $name
        where
            DB: diesel::backend::Backend,
            String: diesel::deserialize::FromSql<diesel::sql_types::Text, DB>,
        {
            fn from_sql(bytes: DB::RawValue<'_>) -> diesel::deserialize::Result<Self> {
                let text = <String as diesel::deserialize::FromSql<diesel::sql_types::Text, DB>>::from_sql(bytes)?;
                Self::parse(&text).ok_or_else(|| {
                    format!("unknown {} {:?} in {}", stringify!($name), text, Self::COLUMNS).into()
                })
            }
        }

        impl<DB> diesel::serialize::ToSql<diesel::sql_types::Text, DB> for $name
        where
            DB: diesel::backend::Backend,
            str: diesel::serialize::ToSql<diesel::sql_types::Text, DB>,
        {
            fn to_sql<'b>(&'b self, out: &mut diesel::serialize::Output<'b, '_, DB>) -> diesel::serialize::Result {
                <str as diesel::serialize::ToSql<diesel::sql_types::Text, DB>>::to_sql(self.as_str(), out)
            }
        }
    };
}

pub(crate) use stored_state;

#[cfg(test)]
mod tests {
    stored_state! {
        /// A state for the tests.
        Light in "lamps.light" { On => "On", Off => "Off" }
    }

    #[test]
    fn spelling_round_trips_and_unknown_values_are_refused() {
        for light in Light::ALL {
            assert_eq!(Light::parse(light.as_str()), Some(light));
        }
        assert_eq!(Light::parse("on"), None);
        assert_eq!(serde_json::to_string(&Light::On).ok().as_deref(), Some("\"On\""));
        let err = serde_json::from_str::<Light>("\"Dim\"").err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("expected one of On, Off"), "{err}");
    }
}
