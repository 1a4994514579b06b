"""README's commands and Python names exist as written, so the docs cannot drift from the code."""

import importlib
import inspect
import re
import shlex
from pathlib import Path

import pytest

from frontwatch.cli import build_parser

README = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
BLOCKS = re.findall(r"```(\w+)\n(.*?)```", README, flags=re.S)


def _subparsers():
    parser = build_parser()
    action = next(a for a in parser._actions if a.dest == "command")
    return action.choices


LAUNCH = re.compile(r"^accelerate launch (.*?)-m (frontwatch .*)$")


def _bash_lines():
    for lang, body in BLOCKS:
        if lang == "bash":
            body = re.sub(r"\n\s+(?=[\[-])", " ", body)  # the synopsis wraps its options onto indented lines
            yield from (line.split("#")[0].strip() for line in body.splitlines())


def _commands():
    """Every `frontwatch ...` line of the README's bash blocks (also after `accelerate launch ... -m`)."""
    lines = []
    for line in _bash_lines():
        launched = LAUNCH.match(line)
        if launched:
            lines.append(launched.group(2))
        elif re.match(r"^(\.venv/bin/)?frontwatch ", line):
            lines.append(line)
    return lines


def test_accelerate_launch_lines_use_real_launcher_options():
    from accelerate.commands.launch import launch_command_parser

    launches = [LAUNCH.match(line) for line in _bash_lines() if LAUNCH.match(line)]
    assert launches, "the README shows no accelerate launch command"
    known = {o for a in launch_command_parser()._actions for o in a.option_strings}
    for m in launches:
        used = {w.split("=")[0] for w in shlex.split(m.group(1)) if w.startswith("-")}
        assert used <= known, f"accelerate launch has no {used - known}"


def test_the_readme_shows_commands():
    assert len(_commands()) >= 10


@pytest.mark.parametrize("line", _commands())
def test_every_command_and_option_exists(line):
    words = shlex.split(line.replace("[", " ").replace("]", " ").replace("|", " "))
    sub = _subparsers()
    assert words[1] in sub, f"README uses 'frontwatch {words[1]}', which does not exist"
    parser = sub[words[1]]
    if words[1] == "data":
        parser = next(a for a in parser._actions if a.dest == "data_command").choices[words[2]]
    known = {o for a in parser._actions for o in a.option_strings}
    used = {w.split("=")[0] for w in words if w.startswith("-")}
    assert used <= known, f"{line}: unknown option(s) {used - known}"


def test_python_examples_name_real_things():
    code = "\n".join(body for lang, body in BLOCKS if lang == "python")
    imports = re.findall(r"^from ([\w.]+) import (.+)$", code, flags=re.M)
    assert imports
    for module, names in imports:
        mod = importlib.import_module(module)
        for name in (n.strip() for n in names.split(",")):
            assert hasattr(mod, name), f"README imports {name} from {module}, which has none"
    from frontwatch import Analyzer

    accepted = set(inspect.signature(Analyzer.from_pretrained).parameters)
    for kwargs in re.findall(r"Analyzer\.from_pretrained\(([^)]*)\)", code):
        for key in re.findall(r"(\w+)=", kwargs):
            assert key in accepted or key in {"num_beams", "max_new_tokens"}, key
