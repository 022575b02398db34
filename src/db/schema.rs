//! The tables, as diesel sees them. One schema for both backends: only types that SQLite
//! and PostgreSQL share (Text, Bool, Timestamp, BigInt) are used.

diesel::table! {
    settings (key) {
        key -> Text,
        value -> Text,
    }
}

diesel::table! {
    users (id) {
        id -> Text,
        upn -> Text,
        display_name -> Text,
        mail -> Nullable<Text>,
        user_type -> Text,
        enabled -> Bool,
        manager_id -> Nullable<Text>,
        department -> Nullable<Text>,
        job_title -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    groups (id) {
        id -> Text,
        display_name -> Text,
        description -> Nullable<Text>,
        group_type -> Text,
        membership_rule -> Nullable<Text>,
        on_premises_sync -> Bool,
        mail_enabled -> Bool,
        created_at -> Timestamp,
    }
}

diesel::table! {
    group_owners (group_id, user_id) {
        group_id -> Text,
        user_id -> Text,
    }
}

diesel::table! {
    group_member_users (group_id, user_id) {
        group_id -> Text,
        user_id -> Text,
    }
}

diesel::table! {
    group_member_groups (group_id, member_group_id) {
        group_id -> Text,
        member_group_id -> Text,
    }
}

diesel::table! {
    applications (id) {
        id -> Text,
        app_id -> Text,
        display_name -> Text,
        assignment_required -> Bool,
        homepage -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    app_owners (app_id, user_id) {
        app_id -> Text,
        user_id -> Text,
    }
}

diesel::table! {
    app_user_assignments (app_id, user_id) {
        app_id -> Text,
        user_id -> Text,
        app_role -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    app_group_assignments (app_id, group_id) {
        app_id -> Text,
        group_id -> Text,
        app_role -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    role_definitions (id) {
        id -> Text,
        display_name -> Text,
        description -> Text,
        role_kind -> Text,
        privileged -> Bool,
    }
}

diesel::table! {
    role_assignments (id) {
        id -> Text,
        role_id -> Text,
        user_id -> Text,
        scope -> Text,
        scope_name -> Text,
        assignment_type -> Text,
        start_at -> Timestamp,
        end_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    sign_ins (id) {
        id -> BigInt,
        user_id -> Text,
        app_id -> Nullable<Text>,
        signed_in_at -> Timestamp,
    }
}

diesel::table! {
    web_sessions (id) {
        id -> Text,
        user_id -> Text,
        created_at -> Timestamp,
        last_seen_at -> Timestamp,
    }
}

diesel::joinable!(app_group_assignments -> applications (app_id));
diesel::joinable!(app_group_assignments -> groups (group_id));
diesel::joinable!(app_owners -> applications (app_id));
diesel::joinable!(app_owners -> users (user_id));
diesel::joinable!(app_user_assignments -> applications (app_id));
diesel::joinable!(app_user_assignments -> users (user_id));
diesel::joinable!(group_member_users -> groups (group_id));
diesel::joinable!(group_member_users -> users (user_id));
diesel::joinable!(group_owners -> groups (group_id));
diesel::joinable!(group_owners -> users (user_id));
diesel::joinable!(role_assignments -> role_definitions (role_id));
diesel::joinable!(role_assignments -> users (user_id));
diesel::joinable!(web_sessions -> users (user_id));

diesel::allow_tables_to_appear_in_same_query!(
    settings,
    users,
    groups,
    group_owners,
    group_member_users,
    group_member_groups,
    applications,
    app_owners,
    app_user_assignments,
    app_group_assignments,
    role_definitions,
    role_assignments,
    sign_ins,
    web_sessions,
);
