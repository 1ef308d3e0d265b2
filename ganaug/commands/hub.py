"""``ganaug push``, ``ganaug pull`` and ``ganaug list``: the Hub round trip and the pretrained registry."""

from __future__ import annotations

import json

import click

from .errors import handle_errors

TOKEN_HELP = "Hub access token (default: $HF_TOKEN or the saved login); prefer HF_TOKEN to keep it out of shell history"


@click.command()
@click.argument("model")
@click.argument("repo_id")
@click.option("--private", is_flag=True, help="create the repo private (an existing repo keeps its visibility)")
@click.option(
    "--revision", default=None, metavar="BRANCH", help="branch to push to (created if missing) [default: main]"
)
@click.option("--token", default=None, help=TOKEN_HELP)
@click.option("--message", default="Upload ganaug export", show_default=True, help="commit message")
@handle_errors
def push(model: str, repo_id: str, private: bool, revision: str | None, token: str | None, message: str) -> None:
    """Upload MODEL's export folder (config, safetensors, card, samples) to the Hub repo REPO_ID in one commit."""
    from ..hub.transfer import push_to_hub

    url = push_to_hub(model, repo_id, private=private, revision=revision, token=token, commit_message=message)
    click.echo(f"commit: {url.commit}")
    click.echo(f"load:   hf-hub:{url.repo_id}@{url.commit}")
    click.echo(url)


@click.command()
@click.argument("repo_id")
@click.option("--out", type=click.Path(), default=None, help="folder to copy the files into [default: the Hub cache]")
@click.option("--token", default=None, help=TOKEN_HELP)
@handle_errors
def pull(repo_id: str, out: str | None, token: str | None) -> None:
    """Download an export from the Hub (REPO_ID is [hf-hub:]OWNER/NAME[@REVISION]); prints the folder last."""
    from ..hub.transfer import pull as pull_fn

    click.echo(str(pull_fn(repo_id, out=out, token=token)))


@click.command("list")
@click.option("--json", "as_json", is_flag=True, help="print the entries as JSON")
@handle_errors
def list_cmd(as_json: bool) -> None:
    """List the pretrained registry: names usable as MODEL, where they live on the Hub, and their recipes."""
    from ..hub.pretrained import entries

    found = entries()
    if as_json:
        click.echo(json.dumps([e.to_dict() for e in found.values()], indent=2))
        return
    if not found:
        click.echo("the pretrained registry is empty")
        return
    for entry in found.values():
        status = f"hf-hub:{entry.spec}" if entry.published else "not published yet (train it with the recipe)"
        model = entry.model
        click.echo(f"{entry.name}  [{status}]")
        click.echo(f"  {entry.description}")
        click.echo(
            f"  {entry.task} {model.get('arch')} {model.get('resolution')}x{model.get('channels')} "
            f"{model.get('dtype')}, classes {model.get('classes')}, preset {model.get('preset')}"
        )
        click.echo(f"  data:    {entry.data.get('name', '?')}")
        click.echo(f"  recipe:  {entry.recipe.get('command')}")
        click.echo(f"  sha256:  {entry.sha256}")
