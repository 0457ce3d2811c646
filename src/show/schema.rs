//! The JSON Schema of the show format (control side), printed by `segue schema`.
//!
//! Generated from the model with schemars, so it always matches what `show::load` accepts as far
//! as a schema can say (cross-references such as follows and unique ids are checked by the loader).

use schemars::schema_for;

use super::model::{Show, FORMAT};

/// The schema's `$id`.
pub const SCHEMA_ID: &str = "urn:segue:segue-show/1";

/// The JSON Schema of `segue-show/1`, pretty-printed.
pub fn schema_json() -> String {
    let mut schema = schema_for!(Show);
    schema.insert("$id".into(), SCHEMA_ID.into());
    schema.insert("title".into(), format!("Segue show ({FORMAT})").into());
    serde_json::to_string_pretty(&schema).expect("a schema is plain JSON")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::show::load::{
        BED, CUE, CURVES, DUCK, FOLLOW, PRODUCTION, PUBLISHER, QUANTIZES, SCENE, SHOW, TRANSITION, WRITER,
    };
    use serde_json::Value;

    fn schema() -> Value {
        serde_json::from_str(&schema_json()).unwrap()
    }

    fn properties(object: &Value) -> Vec<String> {
        let mut names: Vec<String> = object["properties"].as_object().unwrap().keys().cloned().collect();
        names.sort();
        names
    }

    fn sorted(fields: &[&str]) -> Vec<String> {
        let mut names: Vec<String> = fields.iter().map(|s| s.to_string()).collect();
        names.sort();
        names
    }

    #[test]
    fn schema_is_titled_and_pins_the_format() {
        let s = schema();
        assert_eq!(s["$id"], SCHEMA_ID);
        assert_eq!(s["title"], "Segue show (segue-show/1)");
        assert_eq!(s["properties"]["format"]["const"], FORMAT);
        let mut required: Vec<&str> = s["required"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
        required.sort();
        assert_eq!(required, ["format", "scenes"]);
    }

    #[test]
    fn schema_disallows_unknown_fields_everywhere() {
        let s = schema();
        assert_eq!(s["additionalProperties"], false);
        for (name, def) in s["$defs"].as_object().unwrap() {
            if def.get("properties").is_some() {
                assert_eq!(def["additionalProperties"], false, "{name} allows unknown fields");
            }
        }
    }

    #[test]
    fn schema_states_the_ranges_the_loader_checks() {
        let s = schema();
        let cue = &s["$defs"]["Cue"]["properties"];
        assert_eq!(cue["note"]["maximum"], 127);
        assert_eq!(cue["pan"]["minimum"], -1);
        assert_eq!(cue["pan"]["maximum"], 1);
        assert_eq!(cue["fade_out_ms"]["minimum"], 0);
        assert_eq!(s["$defs"]["Bed"]["properties"]["beats_per_bar"]["minimum"], 1);
    }

    /// The loader's hand-written field lists must stay equal to the model.
    #[test]
    fn loader_field_lists_match_the_model() {
        let s = schema();
        assert_eq!(properties(&s), sorted(SHOW.fields));
        for (def, level) in [
            ("Duck", &DUCK),
            ("Scene", &SCENE),
            ("Bed", &BED),
            ("Transition", &TRANSITION),
            ("Cue", &CUE),
            ("Follow", &FOLLOW),
            ("Production", &PRODUCTION),
            ("Writer", &WRITER),
            ("Publisher", &PUBLISHER),
        ] {
            assert_eq!(properties(&s["$defs"][def]), sorted(&level.all_fields()), "{def}");
        }
        use crate::show::model::{Curve, Quantize};
        let curves: Vec<Value> = [Curve::Linear, Curve::EqualPower, Curve::SCurve]
            .iter()
            .map(|c| serde_json::to_value(c).unwrap())
            .collect();
        assert_eq!(curves, CURVES.iter().map(|c| Value::from(*c)).collect::<Vec<_>>());
        let quantizes: Vec<Value> =
            [Quantize::None, Quantize::Beat, Quantize::Bar].iter().map(|c| serde_json::to_value(c).unwrap()).collect();
        assert_eq!(quantizes, QUANTIZES.iter().map(|c| Value::from(*c)).collect::<Vec<_>>());
    }
}
