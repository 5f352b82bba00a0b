//! Compose's merge rules for located values: how a later file (or an extending service) is
//! laid over an earlier one (compose-go `override.Merge`), `!reset` / `!override`, and
//! uniqueness of service volumes by target (`override.EnforceUnicity`).

use std::borrow::Cow;

use crate::compose::mounts::{self, MountKind};
use crate::yaml::value::{Entry, Map, MergeTag, Value, ValueKind};

/// Lays `over` on top of `base` at `path` (dotted keys, `*` never appears: real names).
pub(crate) fn merge(base: Value, over: Value, path: &[&str]) -> Value {
    if let Some(special) = special_at(path) {
        return special.apply(base, over);
    }
    if over.is_null() && over.tag.is_none() {
        return base;
    }
    let mut base = base;
    match (&mut base.kind, over.kind) {
        (ValueKind::Map(bm), ValueKind::Map(om)) => {
            merge_maps(bm, om, path);
            base
        }
        (ValueKind::Seq(bs), ValueKind::Seq(os)) => {
            bs.extend(os.into_iter().map(strip_resets));
            base
        }
        (_, kind) => strip_resets(Value {
            kind,
            loc: over.loc,
            tag: None,
            via_alias: over.via_alias,
        }),
    }
}

fn merge_maps(base: &mut Map, over: Map, path: &[&str]) {
    for (key, entry) in over {
        match entry.value.tag {
            Some(MergeTag::Reset) => {
                base.shift_remove(&key);
                continue;
            }
            Some(MergeTag::Override) => {
                let mut value = strip_resets(entry.value);
                value.tag = None;
                base.insert(
                    key,
                    Entry {
                        key_loc: entry.key_loc,
                        value,
                    },
                );
                continue;
            }
            None => {}
        }
        match base.get_mut(&key) {
            Some(existing) if !key.starts_with("x-") => {
                let mut child_path = path.to_vec();
                child_path.push(&key);
                let old = std::mem::replace(
                    &mut existing.value,
                    Value::new(ValueKind::Null, entry.value.loc),
                );
                existing.value = merge(old, entry.value, &child_path);
            }
            _ => {
                base.insert(
                    key,
                    Entry {
                        key_loc: entry.key_loc,
                        value: strip_resets(entry.value),
                    },
                );
            }
        }
    }
}

/// A value taken over whole still drops the keys it marks `!reset` (nothing to reset them from).
pub(crate) fn strip_resets(mut value: Value) -> Value {
    strip_resets_in_place(&mut value);
    value
}

/// [`strip_resets`] without rebuilding the maps (which rehashed every key of every file).
fn strip_resets_in_place(value: &mut Value) {
    match &mut value.kind {
        ValueKind::Map(map) => {
            map.retain(|_, e| e.value.tag != Some(MergeTag::Reset));
            for e in map.values_mut() {
                strip_resets_in_place(&mut e.value);
                e.value.tag = None;
            }
        }
        ValueKind::Seq(items) => {
            items.retain(|v| v.tag != Some(MergeTag::Reset));
            items.iter_mut().for_each(strip_resets_in_place);
        }
        _ => {}
    }
}

enum Special {
    /// `command`, `entrypoint`, `healthcheck.test`: the later value replaces the earlier one.
    Replace,
    /// `environment`, `labels`, …: list or mapping, merged by key; the later value wins.
    KeyValue,
    /// `tmpfs`, `env_file`, `dns`…: string or list, appended.
    Sequence,
    /// `build`: a string is shorthand for `{context: …}`.
    Build,
    /// `networks`, `depends_on`: list or mapping, merged as mappings.
    ListOrMap,
}

fn special_at(path: &[&str]) -> Option<Special> {
    match path {
        ["services", _, "command" | "entrypoint"] | ["services", _, "healthcheck", "test"] => {
            Some(Special::Replace)
        }
        [
            "services",
            _,
            "environment" | "labels" | "annotations" | "sysctls",
        ]
        | ["services", _, "build", "args" | "labels"]
        | ["volumes" | "networks", _, "labels"]
        | ["services", _, "deploy", "labels"] => Some(Special::KeyValue),
        [
            "services",
            _,
            "tmpfs" | "env_file" | "dns" | "dns_search" | "dns_opt" | "label_file",
        ] => Some(Special::Sequence),
        ["services", _, "build"] => Some(Special::Build),
        ["services", _, "networks" | "depends_on"] => Some(Special::ListOrMap),
        _ => None,
    }
}

impl Special {
    fn apply(self, base: Value, over: Value) -> Value {
        match self {
            Special::Replace => {
                if over.is_null() {
                    base
                } else {
                    strip_resets(over)
                }
            }
            Special::KeyValue => {
                let mut map = key_value_map(&base);
                for (k, e) in key_value_map(&over) {
                    map.insert(k, e);
                }
                Value {
                    kind: ValueKind::Map(map),
                    loc: over.loc,
                    tag: None,
                    via_alias: None,
                }
            }
            Special::Sequence => {
                let loc = over.loc;
                let mut items = as_sequence(base);
                for item in as_sequence(over) {
                    let key = |v: &Value| {
                        v.as_str()
                            .map(|s| s.split('=').next().unwrap_or(s).to_owned())
                    };
                    let k = key(&item);
                    match items
                        .iter()
                        .position(|existing| k.is_some() && key(existing) == k)
                    {
                        Some(i) => items[i] = item,
                        None => items.push(item),
                    }
                }
                Value {
                    kind: ValueKind::Seq(items),
                    loc,
                    tag: None,
                    via_alias: None,
                }
            }
            Special::Build => {
                let base = build_as_map(base);
                let over = build_as_map(over);
                merge(base, over, &["services", "*", "build", "*"])
            }
            Special::ListOrMap => {
                let base = list_as_map(base);
                let over = list_as_map(over);
                merge(base, over, &["services", "*", "networks-or-depends", "*"])
            }
        }
    }
}

/// `KEY=VALUE` lists and mappings as one mapping (value `Null` for a bare `KEY`).
fn key_value_map(value: &Value) -> Map {
    let mut map = Map::default();
    match &value.kind {
        ValueKind::Map(m) => {
            for (k, e) in m {
                map.insert(k.clone(), e.clone());
            }
        }
        ValueKind::Seq(items) => {
            for item in items {
                let Some(text) = item.as_str() else { continue };
                let (k, v) = match key_value_item(text) {
                    (k, Some(v)) => (
                        k,
                        Value::new(
                            ValueKind::Scalar {
                                text: v.into(),
                                plain: false,
                            },
                            item.loc,
                        ),
                    ),
                    (k, None) => (k, Value::new(ValueKind::Null, item.loc)),
                };
                map.insert(
                    k.into(),
                    Entry {
                        key_loc: item.loc,
                        value: v,
                    },
                );
            }
        }
        _ => {}
    }
    map
}

/// An item of a `KEY=VALUE` list: its key, and its value unless it is a bare `KEY` (which
/// takes the variable's value from the environment).
pub(crate) fn key_value_item(text: &str) -> (&str, Option<&str>) {
    match text.split_once('=') {
        Some((k, v)) => (k, Some(v)),
        None => (text, None),
    }
}

fn as_sequence(value: Value) -> Vec<Value> {
    match value.kind {
        ValueKind::Seq(items) => items,
        ValueKind::Null => Vec::new(),
        _ => vec![value],
    }
}

fn build_as_map(value: Value) -> Value {
    match &value.kind {
        ValueKind::Scalar { .. } => {
            let mut map = Map::default();
            map.insert(
                "context".into(),
                Entry {
                    key_loc: value.loc,
                    value: value.clone(),
                },
            );
            Value {
                kind: ValueKind::Map(map),
                loc: value.loc,
                tag: None,
                via_alias: value.via_alias,
            }
        }
        _ => value,
    }
}

fn list_as_map(value: Value) -> Value {
    match &value.kind {
        ValueKind::Seq(items) => {
            let mut map = Map::default();
            for item in items {
                if let Some(name) = item.as_str() {
                    map.insert(
                        name.into(),
                        Entry {
                            key_loc: item.loc,
                            value: Value::new(ValueKind::Null, item.loc),
                        },
                    );
                }
            }
            Value {
                kind: ValueKind::Map(map),
                loc: value.loc,
                tag: None,
                via_alias: value.via_alias,
            }
        }
        _ => value,
    }
}

/// The key compose uses to make a service's volumes unique (compose-go `volumeIndexer`): the long
/// syntax `target` as written, the short syntax target as ParseVolume reads it, cleaned when
/// `canonical` (compose converts a short entry to long syntax, cleaning its target, after the
/// first uniqueness pass of the file it is written in). `Err` carries compose's message.
pub(crate) fn volume_key(entry: &Value, canonical: bool) -> Result<Option<Cow<'_, str>>, String> {
    match &entry.kind {
        ValueKind::Map(m) => match m.get("target").and_then(|e| e.value.as_str()) {
            Some(t) => Ok(Some(Cow::Borrowed(t))),
            None => Err("is missing a mount target".into()),
        },
        ValueKind::Scalar { text, .. } => match mounts::short_target(text) {
            Ok(target) if canonical => Ok(Some(mounts::cleaned(target))),
            Ok(target) => Ok(Some(Cow::Borrowed(target))),
            Err(e) => Err(mounts::spec_error_message(text, &e)),
        },
        _ => Ok(None),
    }
}

/// What a raw volume entry mounts, as the loader will classify it.
pub(crate) fn entry_kind(entry: &Value) -> Option<MountKind> {
    match &entry.kind {
        ValueKind::Scalar { text, .. } => mounts::parse_short(text).ok().map(|v| v.kind),
        ValueKind::Map(m) => {
            let has_source = m
                .get("source")
                .and_then(|e| e.value.as_str())
                .is_some_and(|s| !s.is_empty());
            match m.get("type").and_then(|e| e.value.as_str())? {
                "volume" if has_source => Some(MountKind::Named),
                "volume" => Some(MountKind::Anonymous),
                "bind" => Some(MountKind::Bind),
                "tmpfs" => Some(MountKind::Tmpfs),
                "npipe" => Some(MountKind::Npipe),
                "cluster" => Some(MountKind::Cluster),
                "image" => Some(MountKind::Image),
                _ => None,
            }
        }
        _ => None,
    }
}

/// One pass of compose's uniqueness of a service's volumes after a file is merged: a later
/// volume with the same target replaces the earlier one, in place. compose makes two — before
/// it validates the schema, keyed on the short-syntax targets as written (`canonical` says which
/// entries an earlier file already converted, their targets cleaned), then, once every short
/// entry is converted, on the cleaned ones (`Pass::Cleaned`). Long-syntax targets stay as
/// written in both passes (compose cleans them only after the last file).
/// Returns the replaced entries (earlier, later) so rules can point at both.
pub(crate) fn enforce_unique_volumes(
    volumes: &mut Vec<Value>,
    canonical: impl Fn(&Value) -> bool,
    pass: Pass,
) -> Vec<(Value, Value)> {
    if volumes.len() < 2 {
        return Vec::new();
    }
    unique_by(volumes.iter().map(|e| {
        let written = volume_key(e, canonical(e)).ok().flatten()?;
        Some(match (&e.kind, pass) {
            // A key `volume_key` made is clean already.
            (ValueKind::Scalar { .. }, Pass::Cleaned) => match written {
                Cow::Borrowed(w) => mounts::cleaned(w),
                cleaned => cleaned,
            },
            _ => written,
        })
    }))
    .apply(volumes)
}

/// Which of compose's two uniqueness passes over a service's volumes (see
/// [`enforce_unique_volumes`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pass {
    /// Before the schema is checked: short targets as written.
    Written,
    /// After the short entries are converted: their targets cleaned.
    Cleaned,
}

/// compose's uniqueness of `tmpfs` entries (`keyValueIndexer`): keyed on the text before the
/// first `=`, so `/x:size=1m` is replaced by a later `/x:size=2m`, and `/run` by `/run`.
pub(crate) fn enforce_unique_tmpfs(items: &mut Vec<Value>) {
    unique_by(
        items
            .iter()
            .map(|e| e.as_str().map(|t| key_value_item(t).0)),
    )
    .apply(items);
}

/// One pass of compose-go `EnforceUnicity` over a sequence, from its entries' keys (borrowed
/// from the entries: [`Replacements::apply`] changes the sequence once they are gone): a later
/// entry with the key of an earlier one takes its place. Entries without a key are kept.
pub(crate) fn unique_by<K: std::hash::Hash + Eq>(
    keys: impl Iterator<Item = Option<K>>,
) -> Replacements {
    let mut holders: Vec<usize> = Vec::with_capacity(keys.size_hint().0);
    let mut replaced: Vec<(usize, usize)> = Vec::new();
    // The key of each place of the result, looked through while there are few (most lists);
    // once there are many, a hash of them (a service may have many thousands of entries).
    let mut few: Vec<Option<K>> = Vec::new();
    let mut many: Option<foldhash::HashMap<K, usize>> = None;
    for (index, key) in keys.enumerate() {
        let earlier = key.as_ref().and_then(|k| match &many {
            Some(places) => places.get(k).copied(),
            None => few.iter().position(|p| p.as_ref() == Some(k)),
        });
        if let Some(place) = earlier {
            replaced.push((holders[place], index));
            holders[place] = index;
            continue;
        }
        let place = holders.len();
        holders.push(index);
        match &mut many {
            Some(places) => {
                if let Some(k) = key {
                    places.insert(k, place);
                }
            }
            None => {
                few.push(key);
                if few.len() > 16 {
                    let places = few.drain(..).enumerate();
                    many = Some(places.filter_map(|(p, k)| Some((k?, p))).collect());
                }
            }
        }
    }
    Replacements { holders, replaced }
}

/// What a uniqueness pass does to a sequence ([`unique_by`]).
pub(crate) struct Replacements {
    /// Which entry holds each place of the result.
    holders: Vec<usize>,
    /// The (earlier, later) entries of each replacement, by index.
    replaced: Vec<(usize, usize)>,
}

impl Replacements {
    /// Makes the sequence unique and returns the replaced entries (earlier, later); a sequence
    /// with no repeated key (most) is left as it is.
    pub(crate) fn apply<T: Clone>(self, items: &mut Vec<T>) -> Vec<(T, T)> {
        if self.replaced.is_empty() {
            return Vec::new();
        }
        let pairs = self
            .replaced
            .iter()
            .map(|&(earlier, later)| (items[earlier].clone(), items[later].clone()))
            .collect();
        *items = self.holders.iter().map(|&i| items[i].clone()).collect();
        pairs
    }
}

#[cfg(test)]
mod tests {
    use super::unique_by;

    #[test]
    fn a_later_entry_takes_the_place_of_the_earlier_one_with_its_key() {
        // Keyed on the text before `=`; `-` has no key and is kept wherever it is.
        let key = |t: &&'static str| (*t != "-").then(|| t.split('=').next().unwrap_or(t));
        let mut items = vec!["a=1", "b", "-", "a=2", "c", "-", "a=3"];
        let replaced = unique_by(items.iter().map(key)).apply(&mut items);
        assert_eq!(items, ["a=3", "b", "-", "c", "-"]);
        assert_eq!(replaced, [("a=1", "a=2"), ("a=2", "a=3")]);

        let mut unique = vec!["a", "b", "-", "-"];
        assert!(
            unique_by(unique.iter().map(key))
                .apply(&mut unique)
                .is_empty()
        );
        assert_eq!(unique, ["a", "b", "-", "-"]);
    }
}
