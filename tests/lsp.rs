//! `stowage server` driven as an editor drives it: framed JSON-RPC over the binary's standard input
//! and output (initialize, didOpen, didChange, codeAction, hover, shutdown, exit).

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(60);

struct Client {
    child: Child,
    stdin: ChildStdin,
    incoming: Receiver<Value>,
    /// Notifications received while waiting for something else.
    notes: Vec<Value>,
    next_id: i64,
}

fn frame(body: &str) -> Vec<u8> {
    format!("Content-Length: {}\r\n\r\n{body}", body.len()).into_bytes()
}

impl Client {
    fn start(root: &Path, options: Value) -> Client {
        let mut child = Command::new(env!("CARGO_BIN_EXE_stowage"))
            .arg("server")
            .current_dir(root)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the server starts");
        let stdin = child.stdin.take().expect("piped stdin");
        let stdout = child.stdout.take().expect("piped stdout");
        let (sender, incoming) = mpsc::channel();
        std::thread::spawn(move || {
            let mut out = BufReader::new(stdout);
            loop {
                let mut length = 0;
                loop {
                    let mut line = String::new();
                    if out.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    let line = line.trim_end();
                    if line.is_empty() {
                        break;
                    }
                    if let Some(n) = line.strip_prefix("Content-Length: ") {
                        length = n.parse().expect("a length");
                    }
                }
                let mut body = vec![0; length];
                out.read_exact(&mut body).expect("a whole message");
                let value: Value = serde_json::from_slice(&body).expect("JSON");
                if sender.send(value).is_err() {
                    return;
                }
            }
        });
        let mut client = Client {
            child,
            stdin,
            incoming,
            notes: Vec::new(),
            next_id: 0,
        };
        let result = client.request(
            "initialize",
            json!({
                "processId": null,
                "rootUri": uri(root),
                "capabilities": {},
                "initializationOptions": options,
            }),
        );
        assert_eq!(result["serverInfo"]["name"], "stowage");
        assert_eq!(result["capabilities"]["hoverProvider"], true);
        client.notify("initialized", json!({}));
        client
    }

    fn send(&mut self, message: Value) {
        self.send_raw(&frame(&message.to_string()));
    }

    fn send_raw(&mut self, bytes: &[u8]) {
        self.stdin.write_all(bytes).expect("the server reads");
        self.stdin.flush().expect("the server reads");
    }

    fn notify(&mut self, method: &str, params: Value) {
        self.send(json!({"jsonrpc": "2.0", "method": method, "params": params}));
    }

    fn next(&mut self) -> Value {
        self.incoming
            .recv_timeout(WAIT)
            .expect("the server answers in time")
    }

    /// The response to a request (an error response as `{"error": …}`).
    fn call(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        loop {
            let message = self.next();
            if message["id"] == id {
                return message;
            }
            self.notes.push(message);
        }
    }

    fn request(&mut self, method: &str, params: Value) -> Value {
        let response = self.call(method, params);
        assert!(response.get("error").is_none(), "{response}");
        response["result"].clone()
    }

    /// The next diagnostics published for `path` (those received earlier first).
    fn diagnostics(&mut self, path: &Path) -> Vec<Value> {
        let uri = uri(path);
        let is_for = |m: &Value| {
            m["method"] == "textDocument/publishDiagnostics" && m["params"]["uri"] == uri
        };
        if let Some(i) = self.notes.iter().position(is_for) {
            let m = self.notes.remove(i);
            return m["params"]["diagnostics"]
                .as_array()
                .cloned()
                .unwrap_or_default();
        }
        loop {
            let message = self.next();
            if is_for(&message) {
                return message["params"]["diagnostics"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
            }
            self.notes.push(message);
        }
    }

    /// Diagnostics published for `path` until `done` holds for them.
    fn diagnostics_until(&mut self, path: &Path, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        loop {
            let diagnostics = self.diagnostics(path);
            if done(&diagnostics) {
                return diagnostics;
            }
        }
    }

    /// The code actions at a position of `path`.
    fn actions(&mut self, path: &Path, line: u64, character: u64) -> Vec<Value> {
        let result = self.request(
            "textDocument/codeAction",
            json!({"textDocument": {"uri": uri(path)}, "range": range(line, character, line, character), "context": {"diagnostics": []}}),
        );
        result.as_array().cloned().unwrap_or_default()
    }

    /// `action`'s one edit of `path`, applied to `text`.
    fn applied(action: &Value, path: &Path, text: &str) -> String {
        let edits = action["edit"]["changes"][uri(path)]
            .as_array()
            .expect("edits of the file");
        assert_eq!(edits.len(), 1, "{action}");
        apply(text, &edits[0])
    }

    fn open(&mut self, path: &Path, text: &str) {
        self.notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": uri(path), "languageId": "yaml", "version": 1, "text": text}}),
        );
    }

    fn change(&mut self, path: &Path, version: i64, text: &str) {
        self.notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": uri(path), "version": version}, "contentChanges": [{"text": text}]}),
        );
    }

    /// `shutdown`, `exit`, and the exit code.
    fn finish(mut self) -> i32 {
        assert_eq!(self.request("shutdown", Value::Null), Value::Null);
        self.notify("exit", Value::Null);
        self.wait()
    }

    fn wait(&mut self) -> i32 {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("a status") {
                return status.code().expect("an exit code");
            }
            assert!(start.elapsed() < WAIT, "the server did not exit");
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

/// A scratch directory (removed when the first value is dropped) and its absolute path.
fn scratch() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let root = dir.path().canonicalize().expect("an absolute path");
    (dir, root)
}

/// Writes `text` at `path`, creating its directory.
fn write(path: &Path, text: &str) {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("a directory");
    }
    std::fs::write(path, text).expect("written");
}

fn uri(path: &Path) -> String {
    format!("file://{}", path.display()).replace(' ', "%20")
}

fn codes(diagnostics: &[Value]) -> Vec<String> {
    diagnostics
        .iter()
        .map(|d| d["code"].as_str().unwrap_or_default().to_owned())
        .collect()
}

fn find<'a>(diagnostics: &'a [Value], code: &str) -> &'a Value {
    diagnostics
        .iter()
        .find(|d| d["code"] == code)
        .unwrap_or_else(|| panic!("no `{code}` in {diagnostics:?}"))
}

fn range(l0: u64, c0: u64, l1: u64, c1: u64) -> Value {
    json!({"start": {"line": l0, "character": c0}, "end": {"line": l1, "character": c1}})
}

/// Applies a quick fix's one edit of one document to its text (lines and UTF-16 columns).
fn apply(text: &str, edit: &Value) -> String {
    let offset = |p: &Value| {
        let line = p["line"].as_u64().expect("a line") as usize;
        let units = p["character"].as_u64().expect("a column") as usize;
        let start: usize = text.split_inclusive('\n').take(line).map(str::len).sum();
        let mut at = start;
        let mut counted = 0;
        for c in text[start..].chars() {
            if counted >= units || c == '\n' {
                break;
            }
            counted += c.len_utf16();
            at += c.len_utf8();
        }
        at
    };
    let (start, end) = (
        offset(&edit["range"]["start"]),
        offset(&edit["range"]["end"]),
    );
    format!(
        "{}{}{}",
        &text[..start],
        edit["newText"].as_str().expect("new text"),
        &text[end..]
    )
}

const BASE_ON_DISK: &str =
    "services:\n  db:\n    image: postgres:16\n    volumes:\n      - /var/lib/postgresql/data\n";
const OVERRIDE: &str =
    "services:\n  db:\n    volumes: !override\n      - dbdata:/var/lib/postgresql/data\n";

#[test]
fn an_editor_session_from_open_to_exit() {
    let (_dir, root) = scratch();
    let base = root.join("compose.yaml");
    let over = root.join("compose.override.yaml");
    write(&base, BASE_ON_DISK);
    write(&over, OVERRIDE);
    let mut client = Client::start(&root, Value::Null);

    // The editor's unsaved text decides (the file on disk has no `version:`), and the whole
    // project is linted: the override replaces the base's anonymous volume by an undeclared one.
    let unsaved = format!("version: \"3.8\"\n{BASE_ON_DISK}");
    client.open(&base, &unsaved);
    let diagnostics = client.diagnostics(&base);
    assert_eq!(codes(&diagnostics), ["obsolete-version"]);
    let version = &diagnostics[0];
    assert_eq!(version["range"], range(0, 0, 0, 7));
    assert_eq!(version["source"], "stowage");
    assert_eq!(version["severity"], 3);
    let href = version["codeDescription"]["href"].as_str().expect("a link");
    assert!(
        href.ends_with("/rules_reference/index.html#obsolete-version"),
        "{href}"
    );
    let undefined = client.diagnostics(&over);
    assert_eq!(codes(&undefined), ["undefined-volume"]);
    assert_eq!(
        undefined[0]["range"]["start"],
        json!({"line": 3, "character": 8})
    );
    assert_eq!(undefined[0]["severity"], 1);

    // A change in the override re-publishes the base: its anonymous volume counts again, and
    // the override has nothing left.
    client.open(&over, OVERRIDE);
    let plain_override = "services:\n  db:\n    restart: always\n";
    client.change(&over, 2, plain_override);
    client.diagnostics_until(&over, |d| d.is_empty());
    let base_now = client.diagnostics_until(&base, |d| d.len() == 2);
    assert_eq!(codes(&base_now), ["obsolete-version", "anonymous-volume"]);
    let anonymous = find(&base_now, "anonymous-volume");
    assert_eq!(anonymous["range"], range(5, 8, 5, 32));
    assert_eq!(anonymous["severity"], 2);

    // The safe fix is a preferred quick fix; applied and sent back, its diagnostic is gone.
    let actions = client.actions(&base, 0, 2);
    assert_eq!(actions.len(), 1, "{actions:?}");
    let action = &actions[0];
    assert_eq!(action["kind"], "quickfix");
    assert_eq!(action["isPreferred"], true);
    assert_eq!(action["diagnostics"][0]["code"], "obsolete-version");
    let fixed = Client::applied(action, &base, &unsaved);
    assert_eq!(fixed, BASE_ON_DISK);
    client.change(&base, 2, &fixed);
    client.diagnostics_until(&base, |d| codes(d) == ["anonymous-volume"]);

    // The unsafe fix (a named volume: the data moves) is offered, said so, not preferred.
    let action = &client.actions(&base, 4, 10)[0];
    assert!(
        action["title"]
            .as_str()
            .expect("a title")
            .ends_with("(unsafe)"),
        "{action}"
    );
    assert_eq!(action["isPreferred"], false);
    let migrated = Client::applied(action, &base, &fixed);
    assert!(migrated.contains("volumes:\n  "), "{migrated}");
    client.change(&base, 3, &migrated);
    client.diagnostics_until(&base, |d| d.is_empty());

    // Hover on the mount: what it survives.
    let hover = client.request(
        "textDocument/hover",
        json!({"textDocument": {"uri": uri(&base)}, "position": {"line": 4, "character": 12}}),
    );
    let shown = hover["contents"]["value"].as_str().expect("markdown");
    assert!(shown.contains("**db**: named"), "{shown}");
    assert!(
        shown.contains("| restart | recreate | down + up | down -v |"),
        "{shown}"
    );
    assert!(shown.contains("| yes | yes | yes | **no** |"), "{shown}");
    assert_eq!(hover["range"]["start"]["line"], 4);
    // Nowhere near a mount: no hover.
    let nothing = client.request(
        "textDocument/hover",
        json!({"textDocument": {"uri": uri(&base)}, "position": {"line": 0, "character": 0}}),
    );
    assert_eq!(nothing, Value::Null);

    assert_eq!(client.finish(), 0);
}

#[test]
fn a_file_that_a_project_extends_is_linted_as_part_of_it() {
    let (_dir, root) = scratch();
    write(
        &root.join("compose.yaml"),
        "services:\n  app:\n    extends:\n      file: common/base.yaml\n      service: base\n",
    );
    let base = root.join("common/base.yaml");
    let text = "services:\n  base:\n    image: postgres:16\n    volumes:\n      - /var/lib/postgresql/data\n";
    write(&base, text);
    let mut client = Client::start(&root, Value::Null);
    client.open(&base, text);
    let diagnostics = client.diagnostics(&base);
    assert_eq!(codes(&diagnostics), ["anonymous-volume"]);
    assert_eq!(diagnostics[0]["range"]["start"]["line"], 4);
    assert_eq!(client.finish(), 0);
}

#[test]
fn a_project_is_followed_while_one_of_its_files_is_open() {
    let (_dir, root) = scratch();
    let compose = root.join("compose.yaml");
    let compose_text =
        "services:\n  app:\n    extends:\n      file: common/base.yaml\n      service: base\n";
    write(&compose, compose_text);
    let base = root.join("common/base.yaml");
    let text = "services:\n  base:\n    image: postgres:16\n    volumes:\n      - /var/lib/postgresql/data\n";
    write(&base, text);
    let mut client = Client::start(&root, Value::Null);
    client.open(&base, text);
    assert_eq!(codes(&client.diagnostics(&base)), ["anonymous-volume"]);
    client.open(&compose, compose_text);
    // Closing one of two open files keeps the project, and the other file's diagnostics.
    client.notify(
        "textDocument/didClose",
        json!({"textDocument": {"uri": uri(&compose)}}),
    );
    assert_eq!(codes(&client.diagnostics(&base)), ["anonymous-volume"]);
    // Closing the last one withdraws them: the project is no longer followed.
    client.notify(
        "textDocument/didClose",
        json!({"textDocument": {"uri": uri(&base)}}),
    );
    assert_eq!(
        client.diagnostics_until(&base, <[Value]>::is_empty),
        Vec::<Value>::new()
    );
    // Opened again, it is found again.
    client.open(&base, text);
    let again = client.diagnostics_until(&base, |d| !d.is_empty());
    assert_eq!(codes(&again), ["anonymous-volume"]);
    assert_eq!(client.finish(), 0);
}

#[test]
fn settings_come_from_initialization_options_and_configuration_changes() {
    let (_dir, root) = scratch();
    let base = root.join("compose.yaml");
    let text = format!("version: \"3\"\n{BASE_ON_DISK}");
    write(&base, &text);
    let mut client = Client::start(&root, json!({"ignore": ["obsolete-version"]}));
    client.open(&base, &text);
    assert_eq!(codes(&client.diagnostics(&base)), ["anonymous-volume"]);
    client.notify(
        "workspace/didChangeConfiguration",
        json!({"settings": {"stowage": {"select": ["obsolete-version"]}}}),
    );
    assert_eq!(codes(&client.diagnostics(&base)), ["obsolete-version"]);
    // A `.stowage.yaml` the editor has open decides too, unsaved.
    client.notify(
        "workspace/didChangeConfiguration",
        json!({"settings": {"stowage": {}}}),
    );
    assert_eq!(
        codes(&client.diagnostics(&base)),
        ["obsolete-version", "anonymous-volume"]
    );
    let config = root.join(".stowage.yaml");
    write(&config, "rules:\n  anonymous-volume: off\n");
    client.open(&config, "rules:\n  obsolete-version: off\n");
    client.change(&base, 2, &text);
    assert_eq!(codes(&client.diagnostics(&base)), ["anonymous-volume"]);
    assert_eq!(client.finish(), 0);
}

#[test]
fn malformed_messages_are_skipped_and_exit_without_shutdown_is_1() {
    let (_dir, root) = scratch();
    let mut client = Client::start(&root, Value::Null);
    client.send_raw(&frame("{not json"));
    client.send(
        json!({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"nonsense": 1}}),
    );
    let unknown = client.call("textDocument/definition", json!({}));
    assert_eq!(unknown["error"]["code"], -32601);
    let bad = client.call("textDocument/hover", json!({"textDocument": 3}));
    assert_eq!(bad["error"]["code"], -32602);
    client.notify("exit", Value::Null);
    assert_eq!(client.wait(), 1);
}

/// Median of `runs`.
fn median(mut runs: Vec<Duration>) -> Duration {
    runs.sort();
    runs[runs.len() / 2]
}

#[test]
fn two_hundred_services_a_diagnostic_at_the_right_line_and_relint_time() {
    let (_dir, root) = scratch();
    let base = root.join("compose.yaml");
    let mut text = String::from("services:\n");
    let mut line_of_volume = 0;
    for i in 0..200 {
        text.push_str(&format!(
            "  s{i}:\n    image: nginx:1.27\n    restart: always\n"
        ));
        if i == 137 {
            text.push_str("    volumes:\n");
            line_of_volume = text.lines().count();
            text.push_str("      - /var/lib/postgresql/data\n");
        }
    }
    // s137 runs postgres: its anonymous volume loses data.
    let text = text.replacen(
        "  s137:\n    image: nginx:1.27",
        "  s137:\n    image: postgres:16",
        1,
    );
    write(&base, &text);
    let mut client = Client::start(&root, Value::Null);
    client.open(&base, &text);
    let diagnostics = client.diagnostics(&base);
    assert_eq!(codes(&diagnostics), ["anonymous-volume"]);
    assert_eq!(diagnostics[0]["range"]["start"]["line"], line_of_volume);

    // Re-lint after a change, as the editor sees it (change sent → diagnostics back), against
    // a one-shot `stowage check` of the same project. Printed, not asserted: timings depend on
    // the machine's load.
    let mut relint = Vec::new();
    let mut edited = text.clone();
    for version in 2..17 {
        edited = format!("{text}# edit {version}\n");
        let start = Instant::now();
        client.change(&base, version, &edited);
        assert_eq!(codes(&client.diagnostics(&base)), ["anonymous-volume"]);
        relint.push(start.elapsed());
    }
    let mut cli = Vec::new();
    for _ in 0..15 {
        let start = Instant::now();
        let status = Command::new(env!("CARGO_BIN_EXE_stowage"))
            .args(["check", "--format", "concise", "--no-config"])
            .arg(&base)
            .stdout(Stdio::null())
            .status()
            .expect("stowage runs");
        cli.push(start.elapsed());
        assert_eq!(status.code(), Some(1));
    }
    eprintln!(
        "200 services: re-lint median {:?} (server), one-shot check median {:?} (CLI)",
        median(relint),
        median(cli)
    );

    // The fix, applied as the editor would, clears the diagnostic.
    let line = line_of_volume as u64;
    let fixed = Client::applied(&client.actions(&base, line, 10)[0], &base, &edited);
    assert!(fixed.ends_with("# edit 16\n"), "{fixed}");
    client.change(&base, 17, &fixed);
    client.diagnostics_until(&base, |d| d.is_empty());
    assert_eq!(client.finish(), 0);
}

#[test]
fn an_unsaved_env_file_sets_the_variables() {
    let (_dir, root) = scratch();
    let base = root.join("compose.yaml");
    let text = "services:\n  db:\n    image: postgres:16\n    volumes:\n      - ${DATA_DIR}:/var/lib/postgresql/data\n";
    write(&base, text);
    let mut client = Client::start(&root, Value::Null);
    client.open(&base, text);
    let diagnostics = client.diagnostics(&base);
    assert!(
        codes(&diagnostics).contains(&"unresolved-variable".to_owned()),
        "{diagnostics:?}"
    );
    // Not on disk: only in the editor.
    let env = root.join(".env");
    client.open(&env, "DATA_DIR=./pgdata\n");
    assert_eq!(codes(&client.diagnostics(&base)), Vec::<String>::new());
    assert_eq!(client.finish(), 0);
}
