"""A fake Hugging Face Hub on 127.0.0.1 for tests that go through the real `huggingface_hub` client.

It keeps model repos in memory and serves just enough of the Hub's HTTP API for
`HfApi.create_repo`, `HfApi.upload_folder` / `create_commit` (the README YAML check, `preupload`, and the NDJSON
`commit` with files inline as base64: the server answers `uploadMode: regular` for every file, so neither LFS nor
Xet storage is involved), `model_info`, `list_repo_tree`, and the `resolve` endpoint behind `hf_hub_download`,
`snapshot_download` and transformers' `from_pretrained` (with the `X-Repo-Commit`, `ETag` and `Content-Length`
headers they read). Writes need a `Bearer` token, as on the Hub.

    with FakeHub() as hub:      # a ThreadingHTTPServer on port 0, served from a daemon thread
        HfApi(endpoint=hub.url, token="hf_test").create_repo("user/agent")
        ...
        hub.files("user/agent")  # {path: bytes} at main

Every request is recorded in `hub.requests` as `(method, path)`; routes it does not know answer 404 and, but for
the client's telemetry (`IGNORED_ROUTES`), are recorded in `hub.unhandled`.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

import yaml

GITATTRIBUTES = b"*.safetensors filter=lfs diff=lfs merge=lfs -text\n*.png filter=lfs diff=lfs merge=lfs -text\n"
_YAML_BLOCK = re.compile(r"\A\s*---\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.DOTALL)
_COMMIT_OID = re.compile(r"^[0-9a-f]{40}$")
# Best-effort client telemetry (huggingface_hub's agent-harness registry): answered 404, which the client tolerates.
IGNORED_ROUTES = ("/api/agent-harnesses",)


def git_blob_oid(content: bytes) -> str:
    """The git object id of a file, as the Hub reports it for regular (non-LFS) files."""
    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()


@dataclass
class Commit:
    oid: str
    message: str
    files: dict[str, bytes]


@dataclass
class Repo:
    repo_id: str
    private: bool
    commits: list[Commit] = field(default_factory=list)

    @property
    def head(self) -> Commit:
        return self.commits[-1]

    def at(self, revision: str) -> Commit | None:
        if revision == "main":
            return self.head
        if _COMMIT_OID.match(revision):
            return next((c for c in self.commits if c.oid == revision), None)
        return None

    def commit(self, message: str, files: dict[str, bytes]) -> Commit:
        parent = self.commits[-1].oid if self.commits else ""
        digest = hashlib.sha1(f"{parent}\n{message}\n".encode())
        for path in sorted(files):
            digest.update(f"{path} {git_blob_oid(files[path])}\n".encode())
        self.commits.append(Commit(digest.hexdigest(), message, dict(files)))
        return self.head


class HubError(Exception):
    def __init__(self, status: int, message: str, code: str | None = None):
        super().__init__(message)
        self.status, self.message, self.code = status, message, code


class FakeHub:
    """In-memory model repos behind a local HTTP server; use as a context manager (stops the server on exit)."""

    def __init__(self, user: str = "user"):
        self.user = user
        self.repos: dict[str, Repo] = {}
        self.requests: list[tuple[str, str]] = []
        self.unhandled: list[tuple[str, str]] = []
        self.lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the fake hub is not running")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeHub:
        handler = type("FakeHubHandler", (_Handler,), {"hub": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-hub", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=5)
            self._server = self._thread = None

    def __enter__(self) -> FakeHub:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def files(self, repo_id: str, revision: str = "main") -> dict[str, bytes]:
        """The files of `repo_id` at `revision`."""
        with self.lock:
            commit = self._repo(repo_id).at(revision)
            if commit is None:
                raise KeyError(f"{repo_id} has no revision {revision!r}")
            return dict(commit.files)

    def commits(self, repo_id: str) -> list[Commit]:
        with self.lock:
            return list(self._repo(repo_id).commits)

    # --- API, called by the handler with the lock held ---

    def _repo(self, repo_id: str) -> Repo:
        if repo_id not in self.repos:
            raise HubError(404, f"Repository {repo_id} not found", "RepoNotFound")
        return self.repos[repo_id]

    def _revision(self, repo_id: str, revision: str) -> Commit:
        commit = self._repo(repo_id).at(revision)
        if commit is None:
            raise HubError(404, f"Invalid rev id: {revision}", "RevisionNotFound")
        return commit

    def create_repo(self, body: dict) -> tuple[int, dict]:
        if body.get("type", "model") != "model":
            raise HubError(400, "the fake hub only hosts model repos")
        repo_id = f"{body.get('organization') or self.user}/{body['name']}"
        if repo_id in self.repos:
            return 409, {"error": "You already created this model repo", "url": f"{self.url}/{repo_id}"}
        repo = Repo(repo_id, private=body.get("visibility") == "private" or bool(body.get("private")))
        repo.commit("initial commit", {".gitattributes": GITATTRIBUTES})
        self.repos[repo_id] = repo
        return 200, {"url": f"{self.url}/{repo_id}", "name": repo_id, "id": repo_id}

    def preupload(self, repo_id: str, revision: str, body: dict) -> dict:
        files = self._revision(repo_id, revision).files
        return {
            "files": [
                {
                    "path": f["path"],
                    "uploadMode": "regular",
                    "shouldIgnore": False,
                    "oid": git_blob_oid(files[f["path"]]) if f["path"] in files else None,
                }
                for f in body["files"]
            ]
        }

    def commit(self, repo_id: str, revision: str, lines: list[dict]) -> dict:
        repo = self._repo(repo_id)
        head = self._revision(repo_id, revision)
        if revision != "main" and head is not repo.head:
            raise HubError(400, "the fake hub only commits on main")
        if not lines or lines[0].get("key") != "header":
            raise HubError(400, "the commit payload must start with a header line")
        header = lines[0]["value"]
        if header.get("parentCommit") not in (None, head.oid):
            raise HubError(412, "A commit has happened since. Please refresh and try again.")
        files = dict(head.files)
        for line in lines[1:]:
            key, value = line["key"], line["value"]
            if key == "file":
                if value.get("encoding") != "base64":
                    raise HubError(400, f"unsupported encoding {value.get('encoding')!r}")
                files[value["path"]] = base64.b64decode(value["content"])
            elif key == "deletedFile":
                if value["path"] not in files:
                    raise HubError(404, "A file with this name doesn't exist", "EntryNotFound")
                del files[value["path"]]
            elif key == "deletedFolder":
                prefix = value["path"].rstrip("/") + "/"
                files = {p: c for p, c in files.items() if not p.startswith(prefix)}
            else:  # lfsFile / copies never happen: every file was announced as regular
                raise HubError(400, f"the fake hub does not support {key!r} operations")
        commit = repo.commit(header["summary"], files)
        return {"commitUrl": f"{self.url}/{repo_id}/commit/{commit.oid}", "commitOid": commit.oid, "success": True}

    def model_info(self, repo_id: str, revision: str) -> dict:
        commit = self._revision(repo_id, revision)
        return {
            "id": repo_id,
            "modelId": repo_id,
            "sha": commit.oid,
            "private": self.repos[repo_id].private,
            "siblings": [{"rfilename": path} for path in sorted(commit.files)],
        }

    def tree(self, repo_id: str, revision: str, path: str, recursive: bool) -> list[dict]:
        commit = self._revision(repo_id, revision)
        prefix = path.strip("/") + "/" if path.strip("/") else ""
        entries, folders = [], set()
        for file_path in sorted(commit.files):
            if not file_path.startswith(prefix):
                continue
            parts = file_path[len(prefix) :].split("/")
            for depth in range(1, len(parts) if recursive else min(2, len(parts))):
                folders.add(prefix + "/".join(parts[:depth]))
            if recursive or len(parts) == 1:
                content = commit.files[file_path]
                entries.append({"type": "file", "path": file_path, "size": len(content), "oid": git_blob_oid(content)})
        if prefix and not entries and not folders:
            raise HubError(404, f"{path} does not exist on {revision}", "EntryNotFound")
        dirs = [{"type": "directory", "path": d, "oid": hashlib.sha1(d.encode()).hexdigest()} for d in sorted(folders)]
        return dirs + entries

    def resolve(self, repo_id: str, revision: str, path: str) -> tuple[Commit, bytes]:
        commit = self._revision(repo_id, revision)
        if path not in commit.files:
            raise HubError(404, "Entry not found", "EntryNotFound")
        return commit, commit.files[path]


def validate_card_yaml(content: str) -> list[str]:
    """The errors the Hub would report for a README's YAML metadata (a subset of its checks)."""
    match = _YAML_BLOCK.match(content)
    if match is None:
        return []
    try:
        metadata = yaml.safe_load(match.group(1))
    except yaml.YAMLError as error:
        return [f"invalid YAML: {error}"]
    if metadata is None:
        return []
    if not isinstance(metadata, dict):
        return ["the metadata must be a YAML mapping"]
    errors = []
    if "tags" in metadata and not isinstance(metadata["tags"], list):
        errors.append('"tags" must be a list')
    for index, model in enumerate(metadata.get("model-index") or []):
        for result in model.get("results", []):
            if not isinstance(result.get("task"), dict) or "type" not in result["task"]:
                errors.append(f'"model-index[{index}].results[].task.type" is required')
            if not isinstance(result.get("dataset"), dict) or not {"type", "name"} <= set(result["dataset"]):
                errors.append(f'"model-index[{index}].results[].dataset" needs "type" and "name"')
            for metric in result.get("metrics", []):
                if not {"type", "value"} <= set(metric):
                    errors.append(f'"model-index[{index}].results[].metrics[]" needs "type" and "value"')
    return errors


class _Handler(BaseHTTPRequestHandler):
    hub: FakeHub
    timeout = 10  # seconds a connection may stay silent: no handler thread can hang a test
    server_version = "FakeHub/1.0"

    def log_message(self, format, *args) -> None:  # the tests read `hub.requests` instead of stderr
        pass

    def do_HEAD(self):
        self._dispatch("HEAD")

    def do_GET(self):
        self._dispatch("GET")

    def do_POST(self):
        self._dispatch("POST")

    def _dispatch(self, method: str) -> None:
        url = urlsplit(self.path)
        path, query = url.path, parse_qs(url.query)
        self.hub.requests.append((method, path))
        body = self._read_body() if method == "POST" else b""
        try:
            with self.hub.lock:
                self._route(method, path, query, body)
        except HubError as error:
            self._json(error.status, {"error": error.message}, error_code=error.code)
        except (KeyError, ValueError, TypeError) as error:  # a malformed request
            self._json(400, {"error": f"bad request: {error!r}"})

    def _route(self, method: str, path: str, query: dict, body: bytes) -> None:
        hub = self.hub
        if method == "POST" and path == "/api/repos/create":
            self._require_token()
            status, payload = hub.create_repo(json.loads(body))
            return self._json(status, payload)
        if method == "POST" and path == "/api/validate-yaml":
            errors = validate_card_yaml(json.loads(body)["content"])
            return self._json(400 if errors else 200, {"errors": [{"message": e} for e in errors], "warnings": []})
        if match := re.fullmatch(r"/api/models/([^/]+/[^/]+)/(preupload|commit)/([^/]+)", path):
            if method != "POST":
                raise HubError(405, "method not allowed")
            self._require_token()
            repo_id, action, revision = match.group(1), match.group(2), unquote(match.group(3))
            if action == "preupload":
                return self._json(200, hub.preupload(repo_id, revision, json.loads(body)))
            lines = [json.loads(line) for line in body.decode().splitlines() if line.strip()]
            return self._json(200, hub.commit(repo_id, revision, lines))
        if method == "GET" and (match := re.fullmatch(r"/api/models/([^/]+/[^/]+)(?:/revision/([^/]+))?", path)):
            return self._json(200, hub.model_info(match.group(1), unquote(match.group(2) or "main")))
        if method == "GET" and (match := re.fullmatch(r"/api/models/([^/]+/[^/]+)/tree/([^/]+)(/.*)?", path)):
            recursive = query.get("recursive", ["false"])[0].lower() in ("1", "true")
            tree = hub.tree(match.group(1), unquote(match.group(2)), unquote(match.group(3) or ""), recursive)
            return self._json(200, tree)
        if method in ("GET", "HEAD") and (match := re.fullmatch(r"/([^/]+/[^/]+)/resolve/([^/]+)/(.+)", path)):
            commit, content = hub.resolve(match.group(1), unquote(match.group(2)), unquote(match.group(3)))
            return self._file(method, commit, content)
        if path not in IGNORED_ROUTES:
            hub.unhandled.append((method, path))
        raise HubError(404, f"the fake hub does not serve {method} {path}")

    def _require_token(self) -> None:
        if not self.headers.get("Authorization", "").startswith("Bearer "):
            raise HubError(401, "Invalid credentials in Authorization header")

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while size := int(self.rfile.readline().split(b";")[0].strip(), 16):
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            while self.rfile.readline().strip():  # trailers, then the blank line
                pass
            return b"".join(chunks)
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _file(self, method: str, commit: Commit, content: bytes) -> None:
        start, end, status = 0, len(content), 200
        if match := re.fullmatch(r"bytes=(\d+)-(\d*)", self.headers.get("Range", "")):
            start = int(match.group(1))
            end = min(int(match.group(2)) + 1, len(content)) if match.group(2) else len(content)
            status = 206
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(end - start))
        self.send_header("ETag", f'"{git_blob_oid(content)}"')
        self.send_header("X-Repo-Commit", commit.oid)
        self.send_header("Accept-Ranges", "bytes")
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{end - 1}/{len(content)}")
        self.end_headers()
        if method == "GET":
            self.wfile.write(content[start:end])

    def _json(self, status: int, payload, error_code: str | None = None) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if error_code is not None:
            self.send_header("X-Error-Code", error_code)
        if status >= 400:
            self.send_header("X-Error-Message", payload.get("error", ""))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
