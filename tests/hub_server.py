"""A loopback Hub for the tests: the subset of the Hugging Face Hub HTTP API that ``huggingface_hub`` uses.

It runs the real client code (create_repo, create_branch, preupload, LFS batch + PUT, NDJSON commit, repo info,
tree listing, file resolve with the ETag / X-Repo-Commit headers the cache needs) against an in-memory store with
real commit ids per branch. Private repos answer 401 to anonymous clients and 404 to tokens without access, as
the Hub does. Bound to 127.0.0.1 on a free port, served from a daemon thread.

Example:
    >>> hub = FakeHub(tokens={"hf_alice": "alice"}).start()  # doctest: +SKIP
    >>> hub.url  # doctest: +SKIP
    'http://127.0.0.1:40123'
"""

from __future__ import annotations

import base64
import fnmatch
import hashlib
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

GITATTRIBUTES = b"*.safetensors filter=lfs diff=lfs merge=lfs -text\n*.bin filter=lfs diff=lfs merge=lfs -text\n"
GITATTRIBUTES += b"*.pt filter=lfs diff=lfs merge=lfs -text\n*.pkl filter=lfs diff=lfs merge=lfs -text\n"
GITATTRIBUTES += b"*.parquet filter=lfs diff=lfs merge=lfs -text\n*.png filter=lfs diff=lfs merge=lfs -text\n"


def git_oid(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


@dataclass
class Blob:
    data: bytes
    lfs: bool

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @property
    def pointer(self) -> bytes:
        return f"version https://git-lfs.github.com/spec/v1\noid sha256:{self.sha256}\nsize {len(self.data)}\n".encode()

    @property
    def oid(self) -> str:
        return git_oid(self.pointer if self.lfs else self.data)

    def tree_entry(self, path: str) -> dict:
        entry = {"type": "file", "oid": self.oid, "size": len(self.data), "path": path}
        if self.lfs:
            entry["lfs"] = {"oid": self.sha256, "size": len(self.data), "pointerSize": len(self.pointer)}
        return entry


@dataclass
class Repo:
    repo_id: str
    kind: str  # model | dataset
    private: bool
    branches: dict[str, str] = field(default_factory=dict)  # name -> commit id
    commits: dict[str, dict[str, Blob]] = field(default_factory=dict)  # commit id -> files
    messages: dict[str, str] = field(default_factory=dict)

    def add_commit(self, files: dict[str, Blob], message: str, parent: str | None) -> str:
        seed = f"{self.repo_id}\0{parent}\0{message}\0{time.time_ns()}\0{len(self.commits)}"
        commit = hashlib.sha1(seed.encode()).hexdigest()
        self.commits[commit] = files
        self.messages[commit] = message
        return commit

    def resolve(self, revision: str) -> str | None:
        if revision in self.branches:
            return self.branches[revision]
        return revision if revision in self.commits else None


class HubError(Exception):
    def __init__(self, status: int, message: str, code: str | None = None, commit: str | None = None, **body):
        super().__init__(message)
        self.status, self.message, self.code, self.commit, self.body = status, message, code, commit, body


class FakeHub:
    """An in-memory Hub. ``tokens`` maps an access token to its user name; a user owns the ``user/*`` namespace."""

    def __init__(self, tokens: dict[str, str] | None = None):
        self.tokens = dict(tokens or {})
        self.repos: dict[tuple[str, str], Repo] = {}
        self.lfs: dict[str, bytes] = {}
        self.requests: list[tuple[str, str, str]] = []  # (method, path, authorization header or "")
        self.fail_with: int | None = None  # answer every request with this status (a server error)
        self.lock = threading.RLock()
        self.server: ThreadingHTTPServer | None = None

    # -- lifecycle ----------------------------------------------------------------------------------------
    def start(self) -> FakeHub:
        hub = self

        class Handler(_Handler):
            fake = hub

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    # -- helpers for tests --------------------------------------------------------------------------------
    def create(self, repo_id: str, files: dict[str, bytes] | None = None, private: bool = False, kind: str = "model"):
        """Create a repo directly (no HTTP), optionally with a first commit of ``files``."""
        with self.lock:
            repo = self._new_repo(repo_id, kind, private)
            if files:
                tree = dict(repo.commits[repo.branches["main"]])
                tree.update({p: Blob(d, self._is_lfs(repo, p, d)) for p, d in files.items()})
                repo.branches["main"] = repo.add_commit(tree, "add files", repo.branches["main"])
            return repo

    def files(self, repo_id: str, revision: str = "main", kind: str = "model") -> dict[str, bytes]:
        repo = self.repos[(kind, repo_id)]
        return {p: b.data for p, b in repo.commits[repo.resolve(revision)].items()}

    # -- store operations ---------------------------------------------------------------------------------
    def _new_repo(self, repo_id: str, kind: str, private: bool) -> Repo:
        if (kind, repo_id) in self.repos:  # the Hub's 409 carries the repo url, which the client reads
            url = f"{self.url}/{'datasets/' if kind == 'dataset' else ''}{repo_id}"
            raise HubError(409, f"You already created this {kind} repo", url=url)
        repo = Repo(repo_id, kind, private)
        repo.branches["main"] = repo.add_commit({".gitattributes": Blob(GITATTRIBUTES, False)}, "initial commit", None)
        self.repos[(kind, repo_id)] = repo
        return repo

    @staticmethod
    def _is_lfs(repo: Repo, path: str, data: bytes | None = None, size: int | None = None) -> bool:
        size = len(data) if data is not None else (size or 0)
        attrs = repo.commits[repo.branches["main"]].get(".gitattributes")
        patterns = [
            line.split()[0] for line in (attrs.data.decode() if attrs else "").splitlines() if "filter=lfs" in line
        ]
        return size > 10_000_000 or any(fnmatch.fnmatch(path.rsplit("/", 1)[-1], p) for p in patterns)

    def user(self, authorization: str) -> str | None:
        """The user a request acts as; an unknown token is a 401 like the Hub's."""
        if not authorization:
            return None
        token = authorization.removeprefix("Bearer ").strip()
        if token not in self.tokens:
            raise HubError(401, "Invalid credentials in Authorization header")
        return self.tokens[token]

    def repo(self, kind: str, repo_id: str, user: str | None, write: bool = False) -> Repo:
        repo = self.repos.get((kind, repo_id))
        owner = repo_id.split("/")[0]
        if repo is None or (repo.private and user != owner):
            if user is None:
                raise HubError(401, "Repository not found", "RepoNotFound")
            raise HubError(404, "Repository not found", "RepoNotFound")
        if write and user != owner:
            raise HubError(403, "You don't have the rights to write to this repo")
        return repo

    def commit_id(self, repo: Repo, revision: str) -> str:
        commit = repo.resolve(revision)
        if commit is None:
            raise HubError(404, f"Invalid rev id: {revision}", "RevisionNotFound")
        return commit


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    fake: FakeHub

    def log_message(self, format, *args) -> None:  # keep pytest output clean
        pass

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_HEAD(self) -> None:
        self._dispatch("HEAD")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    # -- plumbing -----------------------------------------------------------------------------------------
    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().strip().split(b";")[0], 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _send(self, status: int, body: bytes = b"", headers: dict | None = None, method: str = "GET") -> None:
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if method != "HEAD":
            self.wfile.write(body)

    def _json(self, obj, status: int = 200, method: str = "GET") -> None:
        self._send(status, json.dumps(obj).encode(), {"Content-Type": "application/json"}, method)

    def _dispatch(self, method: str) -> None:
        parts = urlsplit(self.path)
        segments = [unquote(s) for s in parts.path.split("/")[1:]]
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        body = self._body() if method in ("POST", "PUT") else b""
        auth = self.headers.get("authorization", "")
        self.fake.requests.append((method, parts.path, auth))
        try:
            with self.fake.lock:
                if self.fake.fail_with is not None:
                    raise HubError(self.fake.fail_with, "Internal Server Error")
                user = self.fake.user(auth)
                _route(self, method, segments, query, body, user)
        except HubError as exc:
            headers = {"X-Error-Message": exc.message, "Content-Type": "application/json"}
            if exc.code:
                headers["X-Error-Code"] = exc.code
            if exc.commit:
                headers["X-Repo-Commit"] = exc.commit
            self._send(exc.status, json.dumps({"error": exc.message, **exc.body}).encode(), headers, method)


def _route(h: _Handler, method: str, seg: list[str], query: dict, body: bytes, user: str | None) -> None:
    fake, base = h.fake, h.fake.url
    if seg[:2] == ["api", "whoami-v2"]:
        if user is None:
            raise HubError(401, "Invalid credentials in Authorization header")
        return h._json({"type": "user", "name": user, "orgs": [], "auth": {"type": "access_token"}})
    if seg[:2] == ["api", "validate-yaml"]:
        return h._json(*_validate_yaml(json.loads(body)["content"]))
    if seg[:3] == ["api", "repos", "create"]:
        payload = json.loads(body)
        repo_id = f"{payload.get('organization') or user}/{payload['name']}"
        if user is None or repo_id.split("/")[0] != user:
            raise HubError(401 if user is None else 403, "You are not allowed to create a repo in this namespace")
        kind = payload.get("type") or "model"
        fake._new_repo(repo_id, kind, payload.get("visibility") == "private")
        return h._json({"url": f"{base}/{'datasets/' if kind == 'dataset' else ''}{repo_id}", "name": repo_id})
    if seg[0] == "api" and len(seg) >= 4 and seg[1] in ("models", "datasets"):
        kind, repo_id, rest = seg[1][:-1], f"{seg[2]}/{seg[3]}", seg[4:]
        return _api_repo(h, method, kind, repo_id, rest, body, user)
    if seg[0] == "_lfs" and len(seg) >= 2:
        oid = seg[1]
        if method == "PUT":
            if hashlib.sha256(body).hexdigest() != oid:
                raise HubError(400, "uploaded content does not match its oid")
            fake.lfs[oid] = body
            return h._send(200)
        return h._json({"success": oid in fake.lfs})
    kind = "dataset" if seg[0] == "datasets" else "model"
    seg = seg[1:] if kind == "dataset" else seg
    if len(seg) >= 5 and seg[1].endswith(".git") and seg[2:5] == ["info", "lfs", "objects"]:
        repo = fake.repo(kind, f"{seg[0]}/{seg[1][:-4]}", user, write=True)
        return _lfs_batch(h, repo, json.loads(body))
    if len(seg) >= 5 and seg[2] == "resolve":
        repo = fake.repo(kind, f"{seg[0]}/{seg[1]}", user)
        return _resolve(h, method, repo, seg[3], "/".join(seg[4:]))
    raise HubError(404, f"no route for {method} /{'/'.join(seg)}")


def _api_repo(h: _Handler, method: str, kind: str, repo_id: str, rest: list[str], body: bytes, user) -> None:
    fake = h.fake
    action = rest[0] if rest else "info"
    repo = fake.repo(kind, repo_id, user, write=action in ("preupload", "commit", "branch"))
    if action in ("info", "revision"):
        commit = fake.commit_id(repo, rest[1] if action == "revision" else "main")
        files = repo.commits[commit]
        info = {"id": repo_id, "sha": commit, "private": repo.private, "author": repo_id.split("/")[0]}
        info.update(siblings=[{"rfilename": p} for p in sorted(files)], lastModified="2025-01-01T00:00:00.000Z")
        return h._json(info)
    if action == "refs":
        branches = [{"name": b, "ref": f"refs/heads/{b}", "targetCommit": c} for b, c in repo.branches.items()]
        return h._json({"branches": branches, "converts": [], "tags": []})
    if action == "tree":
        files = repo.commits[fake.commit_id(repo, rest[1])]
        prefix = "/".join(rest[2:]).strip("/")
        return h._json(_tree(files, prefix))
    if action == "paths-info":
        files = repo.commits[fake.commit_id(repo, rest[1])]
        paths = parse_qs(body.decode()).get("paths", []) if body[:1] != b"{" else json.loads(body)["paths"]
        return h._json([e for e in _tree(files, "", recursive=True) if e["path"] in paths])
    if action == "branch":
        branch = rest[1]
        if branch in repo.branches:
            raise HubError(409, f"Branch {branch} already exists")
        start = (json.loads(body or b"{}") or {}).get("startingPoint") or "main"
        repo.branches[branch] = fake.commit_id(repo, start)
        return h._json({})
    if action == "preupload":
        commit = fake.commit_id(repo, rest[1])
        out = []
        for f in json.loads(body)["files"]:
            lfs = fake._is_lfs(repo, f["path"], size=f["size"])
            old = repo.commits[commit].get(f["path"])
            remote = (old.sha256 if old.lfs else old.oid) if old is not None else None
            out.append(
                {"path": f["path"], "uploadMode": "lfs" if lfs else "regular", "shouldIgnore": False, "oid": remote}
            )
        return h._json({"files": out, "commitOid": commit})
    if action == "commit":
        return _commit(h, repo, rest[1], body)
    raise HubError(404, f"no route for /api/{kind}s/{repo_id}/{'/'.join(rest)}")


def _tree(files: dict[str, Blob], prefix: str, recursive: bool = True) -> list[dict]:
    entries, folders = [], set()
    for path in sorted(files):
        if prefix and not path.startswith(prefix + "/"):
            continue
        parts = path.split("/")
        for i in range(len(prefix.split("/")) if prefix else 0, len(parts) - 1):
            folders.add("/".join(parts[: i + 1]))
        entries.append(files[path].tree_entry(path))
    dirs = [{"type": "directory", "oid": git_oid(d.encode()), "path": d} for d in sorted(folders)]
    return dirs + entries


def _commit(h: _Handler, repo: Repo, revision: str, body: bytes) -> None:
    fake = h.fake
    if revision not in repo.branches:
        raise HubError(404, f"Invalid rev id: {revision}", "RevisionNotFound")
    parent = repo.branches[revision]
    files = dict(repo.commits[parent])
    header = {}
    for line in body.decode().splitlines():
        if not line.strip():
            continue
        item = json.loads(line)
        key, value = item["key"], item["value"]
        if key == "header":
            header = value
        elif key == "file":
            data = (
                base64.b64decode(value["content"]) if value.get("encoding") == "base64" else value["content"].encode()
            )
            files[value["path"]] = Blob(data, False)
        elif key == "lfsFile":
            if value["oid"] not in fake.lfs:
                raise HubError(422, f"LFS object {value['oid']} was not uploaded")
            files[value["path"]] = Blob(fake.lfs[value["oid"]], True)
        elif key == "deletedFile":
            files.pop(value["path"], None)
        elif key == "deletedFolder":
            files = {p: b for p, b in files.items() if not p.startswith(value["path"].rstrip("/") + "/")}
        else:
            raise HubError(400, f"unknown commit operation {key!r}")
    if header.get("parentCommit") and header["parentCommit"] != parent:
        raise HubError(412, "A commit has happened since. Please refresh and try again.")
    commit = repo.add_commit(files, header.get("summary", ""), parent)
    repo.branches[revision] = commit
    prefix = f"{fake.url}/{'datasets/' if repo.kind == 'dataset' else ''}{repo.repo_id}"
    return h._json({"success": True, "commitOid": commit, "commitUrl": f"{prefix}/commit/{commit}"})


def _lfs_batch(h: _Handler, repo: Repo, payload: dict) -> None:
    objects = []
    for obj in payload["objects"]:
        entry = {"oid": obj["oid"], "size": obj["size"]}
        if obj["oid"] not in h.fake.lfs:
            href = f"{h.fake.url}/_lfs/{obj['oid']}"
            entry["actions"] = {"upload": {"href": href}, "verify": {"href": href + "/verify"}}
        objects.append(entry)
    return h._json({"transfer": "basic", "objects": objects})


def _resolve(h: _Handler, method: str, repo: Repo, revision: str, path: str) -> None:
    commit = h.fake.commit_id(repo, revision)
    blob = repo.commits[commit].get(path)
    if blob is None:
        raise HubError(404, "Entry not found", "EntryNotFound", commit=commit)
    headers = {"X-Repo-Commit": commit, "ETag": f'"{blob.sha256 if blob.lfs else blob.oid}"'}
    if blob.lfs:
        headers.update({"X-Linked-Etag": f'"{blob.sha256}"', "X-Linked-Size": str(len(blob.data))})
    h._send(200, blob.data, {**headers, "Content-Type": "application/octet-stream"}, method)


def _validate_yaml(content: str) -> tuple[dict, int]:
    """The Hub's README check: front matter must be a YAML mapping; model-index results need task, dataset, metrics."""
    import yaml

    errors = []
    if content.startswith("---\n"):
        try:
            meta = yaml.safe_load(content.split("\n---", 2)[0][4:]) or {}
        except yaml.YAMLError as exc:
            return {"errors": [{"message": f"invalid YAML: {exc}"}], "warnings": []}, 400
        if not isinstance(meta, dict):
            errors.append("metadata must be a mapping")
        for model in meta.get("model-index", []) if isinstance(meta, dict) else []:
            for result in model.get("results", []):
                if not isinstance(result.get("task"), dict) or "type" not in result["task"]:
                    errors.append("model-index result needs task.type")
                dataset = result.get("dataset")
                if not isinstance(dataset, dict) or not {"name", "type"} <= set(dataset):
                    errors.append("model-index result needs dataset.name and dataset.type")
                for metric in result.get("metrics", []):
                    if "type" not in metric or not isinstance(metric.get("value"), (int, float, str)):
                        errors.append("each metric needs type and value")
    status = 400 if errors else 200
    return {"errors": [{"message": e} for e in errors], "warnings": []}, status


def client_env(hub: FakeHub, home: str, token: str | None = None, offline: bool = False) -> dict[str, str]:
    """Environment for a fresh process using ``hub``: endpoint, an own HF_HOME/cache, no Xet, optional token."""
    env = {
        "HF_ENDPOINT": hub.url,
        "HF_HOME": home,
        "HF_HUB_CACHE": f"{home}/hub",
        "HF_HUB_DISABLE_XET": "1",
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "HF_HUB_DISABLE_PROGRESS_BARS": "1",
        "HF_HUB_DISABLE_UPDATE_CHECK": "1",
        "HF_HUB_OFFLINE": "1" if offline else "0",
    }
    if token:
        env["HF_TOKEN"] = token
    return env


def patch_client(monkeypatch, env: dict[str, str]) -> None:
    """Point an already imported ``huggingface_hub`` at ``env``: it reads these variables once, at import."""
    from huggingface_hub import constants

    for key, value in env.items():
        monkeypatch.setenv(key, value)
    if not env.get("HF_TOKEN"):
        monkeypatch.delenv("HF_TOKEN", raising=False)
    endpoint = env["HF_ENDPOINT"]
    monkeypatch.setattr(constants, "ENDPOINT", endpoint)
    monkeypatch.setattr(constants, "HUGGINGFACE_CO_URL_TEMPLATE", endpoint + "/{repo_id}/resolve/{revision}/{filename}")
    monkeypatch.setattr(constants, "HF_HOME", env["HF_HOME"])
    monkeypatch.setattr(constants, "HF_HUB_CACHE", env["HF_HUB_CACHE"])
    monkeypatch.setattr(constants, "HF_TOKEN_PATH", f"{env['HF_HOME']}/token")
    monkeypatch.setattr(constants, "HF_STORED_TOKENS_PATH", f"{env['HF_HOME']}/stored_tokens")
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_XET", True)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", env["HF_HUB_OFFLINE"] == "1")
