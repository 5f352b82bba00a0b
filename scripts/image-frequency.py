#!/usr/bin/env python3
"""Count how often each image repository is used by the services of the shared compose corpus.

Reads the services recorded in expected.jsonl (the images after compose interpolation; the
"default-discovery" lines are skipped, they repeat files already counted), normalises each
reference the way src/images.rs does (strip digest and tag, docker.io / index.docker.io /
docker.io/library/ prefixes, lower-case check) and prints "count repository" lines, most frequent
first. References still containing `$` and image IDs are skipped.

    python3 scripts/image-frequency.py [--corpus DIR] [--top N] [--full] [--by-repo]

--full    print the full normalised name (docker.io/library/postgres) instead of the familiar one
--by-repo count each repository once per corpus repository (owner+name) instead of once per service
--include-built  also count services that have `build:` (their `image:` names the build result)
--kb FILE add a third column: the knowledge-base key covering the repository, or "-" (tomllib)
Python 3 standard library only.
"""
import argparse
import collections
import json
import os
import re
import sys

HEX64 = re.compile(r"^(sha256:)?[0-9a-f]{64}$")


def normalise(ref):
    """Return the full normalised repository (docker.io/library/x) or None."""
    ref = ref.strip()
    if not ref or "$" in ref or HEX64.match(ref):
        return None
    name = ref.split("@", 1)[0]
    last = name.rfind("/")
    colon = name.rfind(":")
    if colon > last:
        name = name[:colon]
    if not name:
        return None
    first, _, rest = name.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost" or first != first.lower()):
        domain, path = first, rest
    else:
        domain, path = "docker.io", name
    if domain == "index.docker.io":
        domain = "docker.io"
    if domain == "docker.io" and "/" not in path:
        path = "library/" + path
    if path != path.lower():
        return None
    return domain + "/" + path


def familiar(repo):
    if repo.startswith("docker.io/library/"):
        return repo[len("docker.io/library/"):]
    if repo.startswith("docker.io/"):
        return repo[len("docker.io/"):]
    return repo


def load_kb(path):
    import tomllib
    with open(path, "rb") as f:
        doc = tomllib.load(f)
    exact, patterns = {}, []
    for key, entry in doc.get("images", {}).items():
        for r in entry.get("repos", []):
            if r.endswith("/*"):
                patterns.append((r[:-1], key))
            else:
                exact[r] = key
    mirrors = [(m["prefix"], m["replace"]) for m in doc.get("matching", {}).get("mirrors", [])]
    return exact, patterns, mirrors


def covered_by(cover, repo):
    exact, patterns, mirrors = cover
    candidates = [repo]
    for prefix, replace in mirrors:
        if repo.startswith(prefix):
            candidates.append(normalise(replace + repo[len(prefix):]) or repo)
    for r in candidates:
        if r in exact:
            return exact[r]
    for r in candidates:
        for prefix, key in patterns:
            rest = r[len(prefix):]
            if r.startswith(prefix) and rest and "/" not in rest:
                return key
    return None


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    default = os.path.normpath(os.path.join(here, "..", "..", "shared", "corpus"))
    if not os.path.isdir(default):
        default = "/work/shared/corpus"
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", default=default)
    ap.add_argument("--top", type=int, default=0)
    ap.add_argument("--full", action="store_true")
    ap.add_argument("--by-repo", action="store_true")
    ap.add_argument("--include-built", action="store_true")
    ap.add_argument("--kb")
    args = ap.parse_args()

    counts = collections.Counter()
    seen = set()
    with open(os.path.join(args.corpus, "expected.jsonl"), encoding="utf-8") as f:
        for line in f:
            rec = json.loads(line)
            if rec.get("mode") == "default-discovery":
                continue
            for svc in (rec.get("services") or {}).values():
                image = svc.get("image") if isinstance(svc, dict) else None
                if not isinstance(image, str):
                    continue
                if svc.get("build") and not args.include_built:
                    continue
                repo = normalise(image)
                if repo is None:
                    continue
                if args.by_repo:
                    key = (rec.get("repo"), repo)
                    if key in seen:
                        continue
                    seen.add(key)
                counts[repo] += 1
    rows = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    if args.top:
        rows = rows[: args.top]
    cover = load_kb(args.kb) if args.kb else None
    for repo, n in rows:
        name = repo if args.full else familiar(repo)
        if cover is None:
            print(n, name)
        else:
            print(n, name, covered_by(cover, repo) or "-")
    return 0


if __name__ == "__main__":
    sys.exit(main())
