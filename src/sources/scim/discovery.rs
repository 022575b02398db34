//! Discovery documents (RFC 7644 §4, RFC 7643 §5–7): `/ServiceProviderConfig`,
//! `/ResourceTypes` and `/Schemas`, built from the attribute table and the limits of this
//! module, so they say exactly what attest accepts.

use serde_json::{Map, Value, json};

use super::list::{ListResponse, MAX_COUNT};
use super::schema::{AttrDef, ResourceType, Schema};
use super::{RESOURCE_TYPE_SCHEMA, SCHEMA_SCHEMA, SERVICE_PROVIDER_CONFIG_SCHEMA};

/// `/ServiceProviderConfig`: PATCH yes, bulk no, filter yes (at most [`MAX_COUNT`]
/// results a page), password change no, sort no, ETags yes, bearer tokens.
pub fn service_provider_config(base_url: &str) -> Value {
    json!({
        "schemas": [SERVICE_PROVIDER_CONFIG_SCHEMA],
        "patch": {"supported": true},
        "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": true, "maxResults": MAX_COUNT},
        "changePassword": {"supported": false},
        "sort": {"supported": false},
        "etag": {"supported": true},
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "Bearer token",
            "description": "A secret token created by an attest administrator for one SCIM connection, sent as 'Authorization: Bearer <token>'.",
            "primary": true
        }],
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": format!("{}/ServiceProviderConfig", base_url.trim_end_matches('/')),
        }
    })
}

/// One resource type of `/ResourceTypes`.
pub fn resource_type(resource: ResourceType, base_url: &str) -> Value {
    let extensions: Vec<Value> =
        resource.extensions().iter().map(|s| json!({"schema": s.urn(), "required": false})).collect();
    let mut out = json!({
        "schemas": [RESOURCE_TYPE_SCHEMA],
        "id": resource.name(),
        "name": resource.name(),
        "endpoint": resource.endpoint(),
        "description": resource.description(),
        "schema": resource.core().urn(),
        "meta": {
            "resourceType": "ResourceType",
            "location": format!("{}/ResourceTypes/{}", base_url.trim_end_matches('/'), resource.name()),
        }
    });
    if let (false, Some(map)) = (extensions.is_empty(), out.as_object_mut()) {
        map.insert("schemaExtensions".into(), Value::Array(extensions));
    }
    out
}

/// `/ResourceTypes`: User (with the enterprise extension) and Group.
pub fn resource_types(base_url: &str) -> Value {
    let resources: Vec<Value> = ResourceType::ALL.iter().map(|r| resource_type(*r, base_url)).collect();
    ListResponse { total_results: resources.len() as u64, start_index: 1, resources }.to_json()
}

/// One schema of `/Schemas`: its attributes with their characteristics. Common attributes
/// (`id`, `externalId`, `meta`) are not listed (RFC 7643 §3.1).
pub fn schema(schema: Schema, base_url: &str) -> Value {
    let attributes: Vec<Value> = schema.def().attributes.iter().filter(|a| !a.common).map(attribute).collect();
    json!({
        "schemas": [SCHEMA_SCHEMA],
        "id": schema.urn(),
        "name": schema.def().name,
        "description": schema.def().description,
        "attributes": attributes,
        "meta": {
            "resourceType": "Schema",
            "location": format!("{}/Schemas/{}", base_url.trim_end_matches('/'), schema.urn()),
        }
    })
}

/// `/Schemas`: core User, Enterprise User and Group.
pub fn schemas(base_url: &str) -> Value {
    let resources: Vec<Value> = Schema::ALL.iter().map(|s| schema(*s, base_url)).collect();
    ListResponse { total_results: resources.len() as u64, start_index: 1, resources }.to_json()
}

fn attribute(def: &AttrDef) -> Value {
    let mut out = Map::new();
    out.insert("name".into(), json!(def.name));
    out.insert("type".into(), json!(def.kind.as_str()));
    out.insert("multiValued".into(), json!(def.multi_valued));
    out.insert("description".into(), json!(def.description));
    out.insert("required".into(), json!(def.required));
    if !def.canonical_values.is_empty() {
        out.insert("canonicalValues".into(), json!(def.canonical_values));
    }
    if !def.sub_attributes.is_empty() {
        out.insert("subAttributes".into(), Value::Array(def.sub_attributes.iter().map(attribute).collect()));
    } else {
        out.insert("caseExact".into(), json!(def.case_exact));
    }
    if !def.reference_types.is_empty() {
        out.insert("referenceTypes".into(), json!(def.reference_types));
    }
    out.insert("mutability".into(), json!(def.mutability.as_str()));
    out.insert("returned".into(), json!(def.returned.as_str()));
    out.insert("uniqueness".into(), json!(def.uniqueness.as_str()));
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::sources::scim::schema::{self, Resolved};
    use crate::sources::scim::{ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA, USER_SCHEMA};

    const BASE: &str = "https://attest.example.com/scim/v2";

    #[test]
    fn service_provider_config_says_what_attest_does() {
        let config = service_provider_config(BASE);
        assert_eq!(config["schemas"], json!(["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"]));
        assert_eq!(config["patch"]["supported"], true);
        assert_eq!(config["bulk"]["supported"], false);
        assert_eq!(config["filter"], json!({"supported": true, "maxResults": 1000}));
        assert_eq!(config["changePassword"]["supported"], false);
        assert_eq!(config["sort"]["supported"], false);
        assert_eq!(config["etag"]["supported"], true);
        assert_eq!(config["authenticationSchemes"][0]["type"], "oauthbearertoken");
        assert_eq!(config["meta"]["location"], format!("{BASE}/ServiceProviderConfig"));
    }

    #[test]
    fn resource_types_list_user_and_group() {
        let list = resource_types(&format!("{BASE}/"));
        assert_eq!(list["totalResults"], 2);
        let user = &list["Resources"][0];
        assert_eq!(user["id"], "User");
        assert_eq!(user["endpoint"], "/Users");
        assert_eq!(user["schema"], USER_SCHEMA);
        assert_eq!(user["schemaExtensions"], json!([{"schema": ENTERPRISE_USER_SCHEMA, "required": false}]));
        assert_eq!(user["meta"]["location"], format!("{BASE}/ResourceTypes/User"));
        let group = &list["Resources"][1];
        assert_eq!(group["schema"], GROUP_SCHEMA);
        assert!(group.get("schemaExtensions").is_none());
    }

    #[test]
    fn schemas_describe_the_table() {
        let list = schemas(BASE);
        assert_eq!(list["totalResults"], 3);
        let user = &list["Resources"][0];
        assert_eq!(user["id"], USER_SCHEMA);
        let names: Vec<&str> =
            user["attributes"].as_array().unwrap().iter().map(|a| a["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["userName", "name", "displayName", "title", "userType", "active", "emails"]);
        let user_name = &user["attributes"][0];
        assert_eq!(
            user_name,
            &json!({
                "name": "userName", "type": "string", "multiValued": false,
                "description": "Unique sign-in name, typically the user principal name.",
                "required": true, "caseExact": false, "mutability": "readWrite", "returned": "default", "uniqueness": "server"
            })
        );
        let emails = &user["attributes"][6];
        assert_eq!(emails["multiValued"], true);
        assert_eq!(emails["subAttributes"][1]["canonicalValues"], json!(["work", "home", "other"]));
        let enterprise = &list["Resources"][1];
        assert_eq!(enterprise["id"], ENTERPRISE_USER_SCHEMA);
        assert_eq!(enterprise["attributes"][2]["name"], "manager");
        assert_eq!(enterprise["attributes"][2]["subAttributes"][1]["referenceTypes"], json!(["User"]));
        let group = &list["Resources"][2];
        assert_eq!(group["attributes"][1]["name"], "members");
        assert_eq!(group["attributes"][1]["subAttributes"][0]["mutability"], "immutable");
        assert_eq!(group["meta"]["location"], format!("{BASE}/Schemas/{GROUP_SCHEMA}"));
    }

    #[test]
    fn every_advertised_attribute_resolves() {
        // What /Schemas lists is what the parsers resolve, name by name.
        let list = schemas(BASE);
        for schema_json in list["Resources"].as_array().unwrap() {
            let urn = schema_json["id"].as_str().unwrap();
            let schema = Schema::from_urn(urn).unwrap();
            for attr in schema_json["attributes"].as_array().unwrap() {
                let name = format!("{urn}:{}", attr["name"].as_str().unwrap());
                let Ok(Resolved::Attr(path)) = schema::resolve(schema.resource_type(), &name) else { panic!("{name}") };
                assert_eq!(path.attr.mutability.as_str(), attr["mutability"]);
                for sub in attr["subAttributes"].as_array().into_iter().flatten() {
                    let name = format!("{name}.{}", sub["name"].as_str().unwrap());
                    let Ok(Resolved::Attr(path)) = schema::resolve(schema.resource_type(), &name) else {
                        panic!("{name}")
                    };
                    assert_eq!(path.leaf().case_exact, sub["caseExact"], "{name}");
                }
            }
        }
    }
}
