//! Town names and id prefixes follow one rule wherever they are set, and a
//! town made inside another town's directory is a town of its own.

use crate::support::{Town, bin_dir};

#[test]
fn config_set_applies_the_init_rules_to_town_names_and_prefixes() {
    let town = Town::new();
    let before = town.config_text();
    town.bd(["config", "set", "town.prefix", "bad prefix"])
        .code(2)
        .stderr_has("invalid value 'bad prefix' for town.prefix")
        .stderr_has("expected a name that starts with a letter and holds only ASCII letters, digits, '-' and '_'")
        .stderr_has("hint: nothing was written");
    town.bd(["config", "set", "town.name", "9lives"]).code(2).stderr_has("invalid value '9lives' for town.name");
    town.bd(["config", "set", "town.name", &"n".repeat(65)]).code(2).stderr_has("at most 64 characters");
    assert_eq!(town.config_text(), before, "the config is untouched");
    let id = town.create("still fine");
    assert!(id.starts_with("towna-") && !id.contains(' '), "{id}");
    town.bd(["config", "set", "town.prefix", "good_one"]).success();
    assert!(town.create("renamed").starts_with("good_one-"));
    // A prefix edited into the file by hand is refused before any id carries it.
    std::fs::write(town.dir().join(".beads/config.yaml"), "town:\n  prefix: bad prefix\n").expect("edit");
    town.bd(["create", "spaced"]).code(1).stderr_has("invalid value 'bad prefix' for town.prefix");
    town.bd(["doctor"]).code(1).stdout_has("invalid value 'bad prefix' for town.prefix");
    assert_eq!(town.titles(), ["renamed", "still fine"]);
}

#[test]
fn init_inside_another_town_makes_a_town_of_its_own() {
    let outer = Town::new();
    let outer_id = outer.create("Outer issue");
    let outer_config = outer.config_text();
    let inner = outer.dir().join("inner");
    std::fs::create_dir_all(&inner).expect("inner dir");
    let bd = bin_dir().join("bd");
    let made = outer.run(&bd, &inner, ["--json", "init", "--town", "nested"]).success().json();
    assert_eq!((made["town"].as_str(), made["prefix"].as_str()), (Some("nested"), Some("nested")), "{made}");
    assert_eq!(made["beads_dir"], inner.join(".beads").to_str().expect("utf8"));
    let id = outer.run(&bd, &inner, ["--json", "create", "Inner issue"]).success().json()["id"].to_string();
    assert!(id.starts_with("\"nested-"), "the nested town's ids carry its own prefix: {id}");
    // Without flags the nested town is named after its own directory.
    let deeper = inner.join("deeper");
    std::fs::create_dir_all(&deeper).expect("deeper dir");
    let made = outer.run(&bd, &deeper, ["--json", "init"]).success().json();
    assert_eq!((made["town"].as_str(), made["prefix"].as_str()), (Some("deeper"), Some("deeper")), "{made}");
    assert_eq!(outer.config_text(), outer_config, "the outer town's config is untouched");
    let outer_list = outer.bd(["--json", "list"]).success().json();
    assert_eq!(outer_list.as_array().map(Vec::len), Some(1), "{outer_list}");
    assert_eq!(outer_list[0]["id"], outer_id.as_str());
}
