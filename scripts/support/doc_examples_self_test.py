"""scripts/docs-examples --self-test: the harness on tiny docs of its own. The good one must
pass; each broken one must fail, for the reason it was broken."""

import os
import shutil
import tempfile


SELF_TEST_DOCS = {
    # Every kind of example, each true: must pass.
    "good.md": """
```sh
export GREETING=hello
echo "$GREETING from a sh block"
```

<!-- output -->
```text
hello from a sh block
```

```console
$ echo "carried: $GREETING"; echo sha256:0123456789abcdef
carried: hello
sha256:…
$ printf 'a\\nb\\nc\\n'
a
…
$ echo 8080 /tmp/x | tee /tmp/seen
8080 /tmp/x
```

<!-- not-run: shows what must never run -->
```sh
exit 1
```

```sh
python3 -c 'import sys; assert sys.argv[1] != "80" + "80" and not sys.argv[2].startswith("/" + "tmp/x")' 8080 /tmp/x
test -f /tmp/seen
```
""",
    # A command that fails.
    "fails.md": """
```sh
echo one
false
echo never
```

<!-- cleanup -->
```sh
echo cleaned
```
""",
    # Output that is not what the doc shows.
    "wrong-output.md": """
```console
$ echo v2
v1
```
""",
    # A sh block's <!-- output --> that is not what it prints.
    "wrong-text-output.md": """
```sh
echo '<h1>Hello from v2</h1>'
```

<!-- output -->
```text
<h1>Hello from v1</h1>
```
""",
    # A shell transcript in an unmarked fence must say whether it runs.
    "untagged.md": """
```
$ rm -rf /
```
""",
    # A command the doc shows failing must fail; one shown failing that succeeds fails the doc.
    "shown-error.md": """
```console
$ sh -c 'echo "error: refused" >&2; exit 1'
error: refused
$ echo 'error: not really'
error: not really
```
""",
    # A reason is required.
    "no-reason.md": """
<!-- not-run: -->
```sh
true
```
""",
}


def self_test(run_doc, build_dir):
    """Problems found; `run_doc(path, build_dir, log=)` returns a doc's failures, refusals included."""
    directory = tempfile.mkdtemp(prefix="baton-docs-self-test-")
    problems = []
    try:
        for name, text in SELF_TEST_DOCS.items():
            with open(os.path.join(directory, name), "w") as file:
                file.write(text)
        def run(name):
            return run_doc(os.path.join(directory, name), build_dir, log=lambda _: None)
        good = run("good.md")
        if good:
            problems.append("good.md failed:\n" + "\n".join(good))
        failed = run("fails.md")
        if not any(":2: exit status 1" in failure for failure in failed):
            problems.append(f"fails.md did not fail at its block on line 2: {failed}")
        wrong = run("wrong-output.md")
        if not any("is not what the doc shows" in failure for failure in wrong):
            problems.append(f"wrong-output.md passed: {wrong}")
        wrong_text = run("wrong-text-output.md")
        if not any("is not what the doc shows" in failure for failure in wrong_text):
            problems.append(f"wrong-text-output.md passed: {wrong_text}")
        untagged = run("untagged.md")
        if not any("```console" in failure for failure in untagged):
            problems.append(f"untagged.md passed: {untagged}")
        shown_error = run("shown-error.md")
        if not (len(shown_error) == 1 and ":5: exit status 1" in shown_error[0]):
            problems.append(f"shown-error.md: not one failure, at its second command: {shown_error}")
        reason = run("no-reason.md")
        if not any("needs a reason" in failure for failure in reason):
            problems.append(f"no-reason.md passed: {reason}")
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    return problems
