"""render_shell: values reach Bash/sh scripts as environment variables, never as shell syntax.

The property tests run the rendered script with real ``bash`` and ``sh`` and adversarial values,
check that every quoting context sees exactly the value, and that no injection attempt creates
a file.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orchestrator.expressions import ExpressionError, UnresolvedExpression, UnsafeShellValue, render_shell

X, Y = "pipeline.variables.x", "pipeline.variables.y"
ATTACKS = [
    "$(touch injected)", "`touch injected`", '"; touch injected; "', "'; touch injected; '",
    "\ntouch injected\n", "EOF\ntouch injected\nEOF", "a[$(touch injected)]", "x[`touch injected`]",
    "$HOME", "${HOME}", "$'\\x41'", "*", "\\", "\\\\", "&&", "||", ";", "|", "&", "'", '"', "`",
    "}", ")", "((", "#", "!", "$", "\n", "\t", " ", "-n", "-e", "%s", "\\n", "~", "=", "<", ">",
]
TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=8)
VALUE = st.lists(st.sampled_from(ATTACKS) | TEXT, max_size=6).map("".join)

# Each line prints the value(s) as the script sees them, NUL-terminated; the expected output of
# each line is computed from the values by the function next to it.
COMMON: list[tuple[str, Any]] = [
    ("printf '%s\\0' <+pipeline.variables.x>", lambda x, y: x),
    ('printf \'%s\\0\' "<+pipeline.variables.x>"', lambda x, y: x),
    ("printf '%s\\0' '<+pipeline.variables.x>'", lambda x, y: x),
    ('printf \'%s\\0\' "[<+pipeline.variables.x>|<+pipeline.variables.y>]"', lambda x, y: f"[{x}|{y}]"),
    ("printf '%s\\0' '[<+pipeline.variables.x>|<+pipeline.variables.y>]'", lambda x, y: f"[{x}|{y}]"),
    ("printf '%s\\0' pre<+pipeline.variables.x>post'q'\"<+pipeline.variables.y>\"", lambda x, y: f"pre{x}postq{y}"),
    ("v=<+pipeline.variables.x>; printf '%s\\0' \"$v\"", lambda x, y: x),
    ("export V2=\"<+pipeline.variables.y>\"; printf '%s\\0' \"$V2\"", lambda x, y: y),
    ('printf \'%s\\0\' "$(printf \'%s\' "<+pipeline.variables.x>")"', lambda x, y: x.rstrip("\n")),
    ("printf '%s\\0' \"$(printf '%s' '<+pipeline.variables.x>')\"", lambda x, y: x.rstrip("\n")),
    ("printf '%s\\0' \"`printf '%s' '<+pipeline.variables.y>'`\"", lambda x, y: y.rstrip("\n")),
    ('printf \'%s\\0\' "${unset_var:-<+pipeline.variables.x>}"', lambda x, y: x),
    ('if [ "<+pipeline.variables.x>" = \'<+pipeline.variables.x>\' ]; then printf \'%s\\0\' same; fi',
     lambda x, y: "same"),
    ("case <+pipeline.variables.x> in *) printf '%s\\0' matched;; esac", lambda x, y: "matched"),
    ("# a comment <+pipeline.variables.x> is not evaluated; printf '%s\\0' no", None),
    ("printf '%s\\0' a\\<+pipeline.variables.y>", lambda x, y: "a" + y),
    ("cat <<EOF\n<+pipeline.variables.x> and $unset_var\nEOF\nprintf '\\0'", lambda x, y: f"{x} and \n"),
    ("cat <<-'EOF'\n\t$HOME `x` \\ <+pipeline.variables.y>\n\tEOF\nprintf '\\0'", lambda x, y: f"$HOME `x` \\ {y}\n"),
    ("cat <<'EOF'\nliteral $HOME only\nEOF\nprintf '\\0'", lambda x, y: "literal $HOME only\n"),
]
BASH_ONLY: list[tuple[str, Any]] = [
    ("printf '%s\\0' $'[\\t<+pipeline.variables.x>]'", lambda x, y: f"[\t{x}]"),
    ('echo "v:<+pipeline.variables.x>"; printf \'\\0\'', lambda x, y: f"v:{x}\n"),
    ('[[ "<+pipeline.variables.x>" == "<+pipeline.variables.x>" ]] && printf \'%s\\0\' eq', lambda x, y: "eq"),
    ("printf '%s\\0' \"$(printf '%s\\n' '<+pipeline.variables.y>' | cat)\"", lambda x, y: y.rstrip("\n")),
]


def script_for(shell: str) -> tuple[str, list[Any]]:
    lines = COMMON + (BASH_ONLY if shell == "bash" else [])
    return "\n".join(line for line, _ in lines) + "\n", [expect for _, expect in lines if expect]


def run(script: str, env: dict[str, str], shell: str, cwd: str) -> bytes:
    proc = subprocess.run([shutil.which(shell) or shell, "-c", script], cwd=cwd, capture_output=True, timeout=20,
                          env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": "/nonexistent-home",
                               "LC_ALL": "C.UTF-8", **env})
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    return proc.stdout


def resolver(values: dict[str, Any]):  # type: ignore[no-untyped-def]
    def resolve(reference: str) -> Any:
        if reference in values:
            return values[reference]
        raise UnresolvedExpression(reference)
    return resolve


def check_shell(shell: str, x: str, y: str) -> None:
    script, expected = script_for(shell)
    rendered, env = render_shell(script, resolver({X: x, Y: y}), shell=shell)
    assert env == {"ORCH_EXPR_1": x, "ORCH_EXPR_2": y}
    # the values are not in the script: rendering with other values gives the same text
    assert render_shell(script, resolver({X: "other", Y: "values"}), shell=shell)[0] == rendered
    with tempfile.TemporaryDirectory() as cwd:
        out = run(rendered, env, shell, cwd)
        assert os.listdir(cwd) == [], "the script created a file: a value was executed"
    assert out.decode("utf-8").split("\0")[:-1] == [expect(x, y) for expect in expected]


PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(x=VALUE, y=VALUE)
def test_bash_sees_exactly_the_value_and_runs_nothing(x: str, y: str) -> None:
    check_shell("bash", x, y)


@PROPERTY
@given(x=VALUE, y=VALUE)
def test_sh_sees_exactly_the_value_and_runs_nothing(x: str, y: str) -> None:
    check_shell("sh", x, y)


@pytest.mark.parametrize("shell", ["bash", "sh"])
@pytest.mark.parametrize("attack", ATTACKS[:8])
def test_known_injections_do_nothing(shell: str, attack: str) -> None:
    check_shell(shell, attack, attack)


def test_naive_substitution_would_have_been_injectable(tmp_path: Path) -> None:
    """Guard for the property test itself: the same script rendered by plain text substitution
    does create the file, so the checks above can fail."""
    script, _ = script_for("bash")
    naive = script.replace("<+pipeline.variables.x>", '"; touch injected; "').replace("<+pipeline.variables.y>", "")
    subprocess.run(["bash", "-c", naive], cwd=tmp_path, capture_output=True, timeout=20)
    assert (tmp_path / "injected").exists()


# -- the rendered text ---------------------------------------------------------------------

def render(script: str, shell: str = "bash", **values: Any) -> tuple[str, dict[str, str]]:
    return render_shell(script, resolver({f"pipeline.variables.{k}": v for k, v in values.items()}), shell=shell)


def test_reference_spelling_per_quoting_context() -> None:
    out, env = render("a <+pipeline.variables.x> \"b <+pipeline.variables.x>\" 'c <+pipeline.variables.x>'"
                      " $'d <+pipeline.variables.x>'", x="v")
    assert out == ('a "${ORCH_EXPR_1}" "b ${ORCH_EXPR_1}" \'c \'"${ORCH_EXPR_1}"\'\''
                   " $'d '\"${ORCH_EXPR_1}\"$''")
    assert env == {"ORCH_EXPR_1": "v"}


def test_same_expression_reuses_its_variable_and_others_get_new_ones() -> None:
    out, env = render("<+pipeline.variables.x> <+pipeline.variables.y> < +x <+ pipeline.variables.x >", x=1, y="2")
    assert out == '"${ORCH_EXPR_1}" "${ORCH_EXPR_2}" < +x "${ORCH_EXPR_1}"'
    assert env == {"ORCH_EXPR_1": "1", "ORCH_EXPR_2": "2"}


def test_values_become_text() -> None:
    _, env = render("<+pipeline.variables.a> <+pipeline.variables.b> <+pipeline.variables.c>",
                    a=None, b=True, c={"k": [1, "x"]})
    assert list(env.values()) == ["null", "true", '{"k":[1,"x"]}']


def test_script_without_expressions_is_unchanged() -> None:
    script = "echo \"$HOME\" 'it''s' $(( 1 + 2 )) <<EOF\nx\nEOF\n"
    assert render_shell(script, resolver({})) == (script, {})


def test_expressions_in_comments_are_not_evaluated() -> None:
    out, env = render("echo hi # <+secrets.getValue('x')>\n# <+unknown.thing>\necho a#<+pipeline.variables.x>", x="v")
    assert out == "echo hi # <+secrets.getValue('x')>\n# <+unknown.thing>\necho a#\"${ORCH_EXPR_1}\""
    assert env == {"ORCH_EXPR_1": "v"}


def test_comment_sign_inside_parameter_expansion_is_not_a_comment() -> None:
    out, _ = render("echo ${#arr[@]} $# <+pipeline.variables.x>", x="v")
    assert out.endswith('"${ORCH_EXPR_1}"')


def test_quoted_heredoc_with_expressions_becomes_unquoted_with_text_escaped() -> None:
    out, _ = render("cat <<'EOF'\n$HOME `x` \\ <+pipeline.variables.x>\nEOF\necho '<+pipeline.variables.x>'", x="v")
    assert out == "cat <<EOF\n\\$HOME \\`x\\` \\\\ ${ORCH_EXPR_1}\nEOF\necho ''\"${ORCH_EXPR_1}\"''"


def test_heredoc_body_is_not_a_quote_context() -> None:
    out, _ = render("cat <<EOF\nit's \"<+pipeline.variables.x>\"\nEOF\necho '<+pipeline.variables.x>'", x="v")
    assert out == "cat <<EOF\nit's \"${ORCH_EXPR_1}\"\nEOF\necho ''\"${ORCH_EXPR_1}\"''"


def test_expression_in_unquoted_command_substitution_inside_double_quotes() -> None:
    out, _ = render('echo "$(echo <+pipeline.variables.x> \'<+pipeline.variables.x>\')"', x="v")
    assert out == 'echo "$(echo "${ORCH_EXPR_1}" \'\'"${ORCH_EXPR_1}"\'\')"'


def test_sh_has_no_dollar_single_quotes() -> None:
    out, _ = render("echo $'<+pipeline.variables.x>'", shell="sh", x="v")
    assert out == "echo $''\"${ORCH_EXPR_1}\"''"
    out, _ = render("echo $'<+pipeline.variables.x>'", shell="Bash", x="v")
    assert out == "echo $''\"${ORCH_EXPR_1}\"$''"


@pytest.mark.parametrize("script", [
    "echo $(( <+pipeline.variables.x> + 1 ))",
    "(( n = <+pipeline.variables.x> ))",
    'echo "${arr[<+pipeline.variables.x>]}"',
    "[[ <+pipeline.variables.x> -eq 1 ]]",
    "echo $(( $(echo '<+pipeline.variables.x>') ))",
])
def test_arithmetic_contexts_accept_integers_only(script: str, tmp_path: Path) -> None:
    out, env = render(script, x="42")
    assert env == {"ORCH_EXPR_1": "42"}
    with pytest.raises(UnsafeShellValue, match="arithmetic") as info:
        render(script, x="a[$(touch injected)]")
    assert isinstance(info.value, UnresolvedExpression)


def test_string_comparison_in_double_brackets_accepts_any_value() -> None:
    out, env = render('[[ <+pipeline.variables.x> == "a" ]]', x="a[$(touch injected)]")
    assert out == '[[ "${ORCH_EXPR_1}" == "a" ]]'


def test_nul_byte_cannot_reach_the_environment() -> None:
    with pytest.raises(UnsafeShellValue, match="NUL"):
        render("echo <+pipeline.variables.x>", x="a\x00b")


def test_unresolved_expression_propagates() -> None:
    with pytest.raises(UnresolvedExpression, match="pipeline.variables.nope"):
        render("echo <+pipeline.variables.nope>")


def test_unsupported_shell_is_refused() -> None:
    with pytest.raises(ValueError, match="PowerShell"):
        render("echo", shell="PowerShell")


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="<+>'\"\\$`(){}[]#\n ;&|-EOFax", max_size=40))
def test_any_script_renders_or_raises_an_expression_error(script: str) -> None:
    try:
        out, env = render_shell(script, lambda ref: "v")
    except ExpressionError:
        return
    assert set(env.values()) <= {"v"}
    assert len(env) <= script.count("<+")
