//! `stowage server`: a Language Server Protocol server over standard input and output, one thread
//! answering in order. This module owns the protocol: the message framing (read on a thread of
//! its own, so that a payload that is not JSON-RPC is reported and skipped instead of ending the
//! session), the lifecycle (`initialize` … `shutdown`, `exit`) and the dispatch of each method;
//! `session` keeps the documents and projects, `features` makes diagnostics, code actions and
//! hovers, `text` converts positions and URIs.
//!
//! Linting waits until no message is pending: a burst of changes (typing) is linted once, and
//! every answer about a document is given after the changes sent before it are linted.

mod features;
mod session;
mod text;

use std::io::{BufRead, Write};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver, TryRecvError};

use lsp_server::{ErrorCode, Message, Notification, Request, RequestId, Response};
use lsp_types::notification::{self as note, Notification as _};
use lsp_types::request::{self as req, Request as _};
use lsp_types::{
    CodeActionKind, CodeActionOptions, CodeActionProviderCapability, HoverProviderCapability,
    InitializeParams, InitializeResult, MessageType, PublishDiagnosticsParams, ServerCapabilities,
    ServerInfo, ShowMessageParams, TextDocumentContentChangeEvent, TextDocumentSyncCapability,
    TextDocumentSyncKind, TextDocumentSyncOptions, TextDocumentSyncSaveOptions,
};
use serde::de::DeserializeOwned;

use session::{Session, Settings};
use text::{LineIndex, uri_path};

/// The largest message accepted (a compose file may be 16 MiB; its JSON escaping more).
const MAX_MESSAGE_BYTES: usize = 64 << 20;

/// What the reader thread hands over.
enum Incoming {
    Message(Message),
    /// A frame whose payload is not a JSON-RPC message.
    Malformed(String),
    /// The stream cannot be read any more (a broken header, standard input closed).
    End(Option<String>),
}

/// How a session ended; the command line turns it into an exit code.
pub(crate) enum Ended {
    /// `exit`, after `shutdown` or not (LSP asks for exit code 0 after it, 1 without).
    Exit { after_shutdown: bool },
    /// The input ended or broke before `exit`.
    InputLost,
}

/// Runs the server until `exit` or until its input ends or breaks.
pub(crate) fn run() -> Ended {
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || read_messages(&sender));
    let mut server = Server {
        out: std::io::stdout(),
        session: None,
        shut_down: false,
    };
    server.serve(&receiver)
}

/// Reads framed messages from standard input until it ends.
fn read_messages(sender: &mpsc::Sender<Incoming>) {
    let stdin = std::io::stdin();
    let mut input = stdin.lock();
    loop {
        let incoming = match read_frame(&mut input) {
            Ok(None) => Incoming::End(None),
            Ok(Some(body)) => match serde_json::from_slice::<Message>(&body) {
                Ok(message) => Incoming::Message(message),
                Err(e) => Incoming::Malformed(e.to_string()),
            },
            Err(e) => Incoming::End(Some(e)),
        };
        let end = matches!(incoming, Incoming::End(_));
        if sender.send(incoming).is_err() || end {
            return;
        }
    }
}

/// One message's payload (None at the end of the input, before a header).
fn read_frame(input: &mut impl BufRead) -> Result<Option<Vec<u8>>, String> {
    let mut length: Option<usize> = None;
    let mut first = true;
    loop {
        let mut line = String::new();
        let read = input
            .read_line(&mut line)
            .map_err(|e| format!("cannot read a message header: {e}"))?;
        if read == 0 {
            return if first {
                Ok(None)
            } else {
                Err("the input ended inside a message header".into())
            };
        }
        first = false;
        let line = line.trim_end_matches(['\r', '\n']);
        if line.is_empty() {
            break;
        }
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| format!("malformed message header `{line}`"))?;
        if name.trim().eq_ignore_ascii_case("content-length") {
            let n = value
                .trim()
                .parse::<usize>()
                .map_err(|_| format!("malformed Content-Length `{}`", value.trim()))?;
            length = Some(n);
        }
    }
    let length = length.ok_or("a message without Content-Length")?;
    if length > MAX_MESSAGE_BYTES {
        return Err(format!(
            "a message of {length} bytes (at most {MAX_MESSAGE_BYTES} are read)"
        ));
    }
    let mut body = vec![0; length];
    input
        .read_exact(&mut body)
        .map_err(|e| format!("cannot read a message of {length} bytes: {e}"))?;
    Ok(Some(body))
}

struct Server {
    out: std::io::Stdout,
    /// None until `initialize`.
    session: Option<Session>,
    shut_down: bool,
}

impl Server {
    fn serve(&mut self, receiver: &Receiver<Incoming>) -> Ended {
        loop {
            let pending = self.session.as_ref().is_some_and(Session::has_dirty);
            let incoming = if pending {
                match receiver.try_recv() {
                    Ok(incoming) => incoming,
                    Err(TryRecvError::Empty) => {
                        self.publish();
                        continue;
                    }
                    Err(TryRecvError::Disconnected) => Incoming::End(None),
                }
            } else {
                receiver.recv().unwrap_or(Incoming::End(None))
            };
            match incoming {
                Incoming::Message(Message::Request(request)) => self.request(request),
                Incoming::Message(Message::Notification(n)) if n.method == note::Exit::METHOD => {
                    return Ended::Exit {
                        after_shutdown: self.shut_down,
                    };
                }
                Incoming::Message(Message::Notification(n)) => self.notification(n),
                Incoming::Message(Message::Response(_)) => {}
                Incoming::Malformed(e) => {
                    eprintln!("stowage server: skipped a message that is not JSON-RPC: {e}");
                }
                Incoming::End(reason) => {
                    if let Some(reason) = reason {
                        eprintln!("error: stowage server: {reason}");
                    } else {
                        eprintln!("error: stowage server: the input ended before `exit`");
                    }
                    return Ended::InputLost;
                }
            }
        }
    }

    fn send(&mut self, message: Message) {
        let mut out = self.out.lock();
        // The client is gone when it cannot be written to: `exit` or the end of input follows.
        let _ = message.write(&mut out).and_then(|()| out.flush());
    }

    fn respond(&mut self, id: RequestId, result: Result<serde_json::Value, (ErrorCode, String)>) {
        let response = match result {
            Ok(value) => Response::new_ok(id, value),
            Err((code, message)) => Response::new_err(id, code as i32, message),
        };
        self.send(Message::Response(response));
    }

    fn notify(&mut self, method: &str, params: impl serde::Serialize) {
        self.send(Message::Notification(Notification::new(
            method.to_owned(),
            params,
        )));
    }

    fn show_error(&mut self, message: String) {
        eprintln!("stowage server: {message}");
        self.notify(
            note::ShowMessage::METHOD,
            ShowMessageParams {
                typ: MessageType::ERROR,
                message,
            },
        );
    }

    /// Lints what changed and publishes the diagnostics of every file it concerns.
    fn publish(&mut self) {
        let Some(session) = self.session.as_mut() else {
            return;
        };
        let files = session.flush();
        let published: Vec<PublishDiagnosticsParams> = files
            .iter()
            .filter_map(|path| {
                Some(PublishDiagnosticsParams {
                    uri: session.uri_of(path)?,
                    diagnostics: session.diagnostics_of(path),
                    version: None,
                })
            })
            .collect();
        for params in published {
            self.notify(note::PublishDiagnostics::METHOD, params);
        }
    }

    fn request(&mut self, request: Request) {
        let Request { id, method, params } = request;
        if method == req::Initialize::METHOD {
            let result = self.initialize(params);
            return self.respond(id, result);
        }
        if self.session.is_none() {
            let message = "the server is not initialized".to_owned();
            return self.respond(id, Err((ErrorCode::ServerNotInitialized, message)));
        }
        if self.shut_down {
            let message = "the server is shut down".to_owned();
            return self.respond(id, Err((ErrorCode::InvalidRequest, message)));
        }
        if method == req::Shutdown::METHOD {
            self.shut_down = true;
            return self.respond(id, Ok(serde_json::Value::Null));
        }
        // Answers reflect every change sent before the request.
        self.publish();
        let Some(session) = self.session.as_ref() else {
            return;
        };
        let answer = catch_unwind(AssertUnwindSafe(|| answer(session, &method, params)))
            .unwrap_or_else(|panic| {
                let message = crate::faults::internal_error("answering", panic.as_ref());
                Err((ErrorCode::InternalError, message))
            });
        self.respond(id, answer);
    }

    fn initialize(
        &mut self,
        params: serde_json::Value,
    ) -> Result<serde_json::Value, (ErrorCode, String)> {
        if self.session.is_some() {
            let message = "the server is initialized already".to_owned();
            return Err((ErrorCode::InvalidRequest, message));
        }
        let params: InitializeParams = parse(params)?;
        let mut roots: Vec<PathBuf> = params
            .workspace_folders
            .iter()
            .flatten()
            .filter_map(|f| uri_path(&f.uri))
            .collect();
        #[allow(deprecated)] // `rootUri`: what clients without workspace folders send.
        roots.extend(params.root_uri.as_ref().and_then(uri_path));
        let settings = match params
            .initialization_options
            .as_ref()
            .and_then(Settings::from_json)
        {
            Some(Ok(s)) => s,
            Some(Err(e)) => return Err((ErrorCode::InvalidParams, e)),
            None => Settings::default(),
        };
        self.session = Some(Session::new(settings, roots));
        let capabilities = ServerCapabilities {
            text_document_sync: Some(TextDocumentSyncCapability::Options(
                TextDocumentSyncOptions {
                    open_close: Some(true),
                    change: Some(TextDocumentSyncKind::INCREMENTAL),
                    save: Some(TextDocumentSyncSaveOptions::Supported(true)),
                    ..TextDocumentSyncOptions::default()
                },
            )),
            code_action_provider: Some(CodeActionProviderCapability::Options(CodeActionOptions {
                code_action_kinds: Some(vec![CodeActionKind::QUICKFIX]),
                ..CodeActionOptions::default()
            })),
            hover_provider: Some(HoverProviderCapability::Simple(true)),
            ..ServerCapabilities::default()
        };
        let result = InitializeResult {
            capabilities,
            server_info: Some(ServerInfo {
                name: "stowage".into(),
                version: Some(env!("CARGO_PKG_VERSION").into()),
            }),
        };
        serde_json::to_value(result).map_err(|e| (ErrorCode::InternalError, e.to_string()))
    }

    fn notification(&mut self, n: Notification) {
        let Some(session) = self.session.as_mut() else {
            // Before `initialize`, notifications other than `exit` are dropped.
            return;
        };
        let outcome = catch_unwind(AssertUnwindSafe(|| on_notification(session, n)))
            .unwrap_or_else(|panic| {
                Err(crate::faults::internal_error(
                    "handling a notification",
                    panic.as_ref(),
                ))
            });
        if let Err(message) = outcome {
            self.show_error(message);
        }
    }
}

fn parse<T: DeserializeOwned>(params: serde_json::Value) -> Result<T, (ErrorCode, String)> {
    serde_json::from_value(params).map_err(|e| (ErrorCode::InvalidParams, e.to_string()))
}

/// The answer to a request after `initialize`.
fn answer(
    session: &Session,
    method: &str,
    params: serde_json::Value,
) -> Result<serde_json::Value, (ErrorCode, String)> {
    let value = match method {
        req::CodeActionRequest::METHOD => {
            let p: lsp_types::CodeActionParams = parse(params)?;
            let actions = match uri_path(&p.text_document.uri) {
                Some(path) => features::code_actions(session, &path, p.range),
                None => Vec::new(),
            };
            serde_json::to_value(actions)
        }
        req::HoverRequest::METHOD => {
            let p: lsp_types::HoverParams = parse(params)?;
            let at = p.text_document_position_params;
            let hover = uri_path(&at.text_document.uri)
                .and_then(|path| features::hover(session, &path, at.position));
            serde_json::to_value(hover)
        }
        _ => {
            let message = format!("stowage does not answer `{method}`");
            return Err((ErrorCode::MethodNotFound, message));
        }
    };
    value.map_err(|e| (ErrorCode::InternalError, e.to_string()))
}

/// Applies a notification to the session; an error is shown to the user.
fn on_notification(session: &mut Session, n: Notification) -> Result<(), String> {
    let bad = |e: serde_json::Error| format!("`{}`: {e}", n.method);
    match n.method.as_str() {
        note::DidOpenTextDocument::METHOD => {
            let p: lsp_types::DidOpenTextDocumentParams =
                serde_json::from_value(n.params.clone()).map_err(bad)?;
            let doc = p.text_document;
            if let Some(path) = uri_path(&doc.uri) {
                session.open(path, doc.uri, doc.text, &doc.language_id);
            }
        }
        note::DidChangeTextDocument::METHOD => {
            let p: lsp_types::DidChangeTextDocumentParams =
                serde_json::from_value(n.params.clone()).map_err(bad)?;
            let Some(path) = uri_path(&p.text_document.uri) else {
                return Ok(());
            };
            let Some(doc) = session.document(&path) else {
                let uri = p.text_document.uri.as_str();
                return Err(format!("`{}`: {uri} is not open", n.method));
            };
            let text = apply_changes(&doc.text, p.content_changes);
            session.change(path, text)?;
        }
        note::DidCloseTextDocument::METHOD => {
            let p: lsp_types::DidCloseTextDocumentParams =
                serde_json::from_value(n.params.clone()).map_err(bad)?;
            if let Some(path) = uri_path(&p.text_document.uri) {
                session.close(&path);
            }
        }
        note::DidSaveTextDocument::METHOD => {
            let p: lsp_types::DidSaveTextDocumentParams =
                serde_json::from_value(n.params.clone()).map_err(bad)?;
            if let Some(path) = uri_path(&p.text_document.uri) {
                session.changed_on_disk(&path);
            }
        }
        note::DidChangeWatchedFiles::METHOD => {
            let p: lsp_types::DidChangeWatchedFilesParams =
                serde_json::from_value(n.params.clone()).map_err(bad)?;
            for change in p.changes {
                if let Some(path) = uri_path(&change.uri) {
                    session.changed_on_disk(&path);
                }
            }
        }
        note::DidChangeConfiguration::METHOD => {
            let p: lsp_types::DidChangeConfigurationParams =
                serde_json::from_value(n.params.clone()).map_err(bad)?;
            if let Some(settings) = Settings::from_json(&p.settings) {
                session.set_settings(settings?);
            }
        }
        // `initialized`, `$/cancelRequest`, `$/setTrace`…: nothing to do.
        _ => {}
    }
    Ok(())
}

/// The text after `changes` (ranges, or the whole text), applied in order.
fn apply_changes(text: &str, changes: Vec<TextDocumentContentChangeEvent>) -> String {
    let mut text = text.to_owned();
    for change in changes {
        match change.range {
            None => text = change.text,
            Some(range) => {
                let index = LineIndex::new(&text);
                let start = index.offset(range.start);
                let end = index.offset(range.end).max(start);
                text.replace_range(start..end, &change.text);
            }
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_read_by_their_length() {
        let mut input: &[u8] =
            b"Content-Length: 2\r\nContent-Type: x\r\n\r\n{}Content-Length: 1\r\n\r\n[";
        assert_eq!(read_frame(&mut input), Ok(Some(b"{}".to_vec())));
        assert_eq!(read_frame(&mut input), Ok(Some(b"[".to_vec())));
        assert_eq!(read_frame(&mut input), Ok(None));
        let mut broken: &[u8] = b"Content-Length: x\r\n\r\n";
        assert!(read_frame(&mut broken).is_err());
        let mut unterminated: &[u8] = b"Content-Length: 5\r\n";
        assert!(read_frame(&mut unterminated).is_err());
    }

    #[test]
    fn incremental_changes_apply_in_order() {
        let change = |l0, c0, l1, c1, text: &str| TextDocumentContentChangeEvent {
            range: Some(lsp_types::Range::new(
                lsp_types::Position::new(l0, c0),
                lsp_types::Position::new(l1, c1),
            )),
            range_length: None,
            text: text.to_owned(),
        };
        let text = apply_changes(
            "a: é\nb: 2\n",
            vec![change(0, 3, 0, 4, "ü😀"), change(1, 0, 1, 1, "c")],
        );
        assert_eq!(text, "a: ü😀\nc: 2\n");
    }
}
