#!/usr/bin/env python3
"""Turns `perf script` output into a flame graph (SVG) and a table of where the time goes.

    perf record -F 999 -g -p PID -o perf.data -- sleep 5
    perf script -i perf.data | scripts/support/flamegraph.py --title "…" --svg out.svg [--top N]

Written for Baton's benchmarks (scripts/bench proxy PROFILE=1); reads perf's default
`perf script` format: a header line per sample, then one frame per line, leaf first.
Swift symbols are demangled with `swift demangle` when it is on PATH. Frames are coloured by
where they come from: the kernel, Baton's own modules, SwiftNIO, the Swift runtime, libc.
The table lists, for the frames that matter most, the share of samples they appear in
(inclusive) and the share where they are the leaf (self).
"""
import argparse
import collections
import html
import re
import shutil
import subprocess
import sys

FRAME = re.compile(r"^\s*[0-9a-f]+\s+(.+?)\s+\((.*)\)\s*$")
OFFSET = re.compile(r"\+0x[0-9a-f]+$")


def read_stacks(lines):
    """Yields each sample's stack as a list of (symbol, object), root first."""
    stack = []
    for line in lines:
        line = line.rstrip("\n")
        if not line.strip():
            if stack:
                yield list(reversed(stack))
            stack = []
            continue
        match = FRAME.match(line)
        if match:
            symbol = OFFSET.sub("", match.group(1))
            stack.append((symbol, match.group(2)))
    if stack:
        yield list(reversed(stack))


def demangler(symbols):
    """Maps each mangled Swift symbol to a short readable name (itself without the tool)."""
    mangled = sorted({s for s in symbols if s.startswith("$s")})
    names = {s: s for s in symbols}
    tool = shutil.which("swift-demangle") or shutil.which("swift")
    if not mangled or tool is None:
        return names
    command = [tool] if tool.endswith("swift-demangle") else [tool, "demangle"]
    result = subprocess.run(command + ["--simplified", "--compact"], input="\n".join(mangled),
                            capture_output=True, text=True, check=False)
    out = result.stdout.splitlines()
    if result.returncode == 0 and len(out) == len(mangled):
        for original, readable in zip(mangled, out):
            names[original] = shorten(readable)
    return names


def shorten(name):
    """Drops argument lists and generic noise, which make frames too wide to read."""
    name = re.sub(r"^(partial apply for |specialized |merged |outlined .* of )+", "", name)
    depth, kept = 0, []
    for ch in name:
        if ch in "(<":
            if depth == 0:
                kept.append("(" if ch == "(" else "")
            depth += 1
        elif ch in ")>":
            depth -= 1
            if depth == 0 and ch == ")":
                kept.append(")")
        elif depth == 0:
            kept.append(ch)
    return "".join(kept).replace("()", "()").strip() or name


def kind(symbol, obj):
    if "kernel" in obj:
        return "kernel"
    if symbol.startswith(("swift_", "swift::")) or "libswiftCore" in obj:
        return "runtime"
    if "libc.so" in obj or symbol.startswith("__"):
        return "libc"
    if re.search(r"(^|\b)Baton", symbol) or "10BatonProxy" in symbol or "BatonProxy" in symbol:
        return "baton"
    if "NIO" in symbol or "llhttp" in symbol:
        return "nio"
    return "other"


COLOURS = {"kernel": (230, 150, 60), "baton": (80, 160, 230), "nio": (120, 200, 120),
           "runtime": (220, 90, 90), "libc": (200, 200, 90), "other": (170, 170, 170)}


class Node:
    __slots__ = ("name", "kind", "count", "children")

    def __init__(self, name, kind_):
        self.name, self.kind, self.count, self.children = name, kind_, 0, {}


def build_tree(stacks, names):
    root = Node("all", "other")
    for stack in stacks:
        root.count += 1
        node = root
        for symbol, obj in stack:
            label = names.get(symbol, symbol)
            child = node.children.get(label)
            if child is None:
                child = node.children[label] = Node(label, kind(symbol, obj))
            child.count += 1
            node = child
    return root


def svg(root, title, width=1600, row=16):
    rows = []

    def depth(node):
        return 1 + max((depth(c) for c in node.children.values()), default=0)

    height = (depth(root) + 3) * row
    scale = width / max(root.count, 1)

    def place(node, x, level):
        w = node.count * scale
        if w < 0.3:
            return
        y = height - (level + 1) * row
        r, g, b = COLOURS[node.kind]
        share = 100.0 * node.count / root.count
        label = html.escape(node.name)
        text = label if w > 40 else ""
        if text and len(node.name) * 6.5 > w:
            text = html.escape(node.name[: max(int(w / 6.5) - 2, 0)]) + ".."
        rows.append(
            f'<g><title>{label} ({share:.2f}%, {node.count} samples)</title>'
            f'<rect x="{x:.2f}" y="{y}" width="{w:.2f}" height="{row - 1}" fill="rgb({r},{g},{b})" rx="2"/>'
            + (f'<text x="{x + 3:.2f}" y="{y + row - 4}">{text}</text>' if text else "") + "</g>")
        child_x = x
        for child in sorted(node.children.values(), key=lambda c: c.name):
            place(child, child_x, level + 1)
            child_x += child.count * scale

    place(root, 0, 0)
    legend = " · ".join(f'<tspan fill="rgb{COLOURS[k]}">■</tspan> {k}' for k in COLOURS)
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'font-family="monospace" font-size="11">'
            f'<rect width="100%" height="100%" fill="white"/>'
            f'<text x="4" y="14" font-size="13">{html.escape(title)} ({root.count} samples)</text>'
            f'<text x="4" y="30">{legend}</text>' + "".join(rows) + "</svg>\n")


def table(stacks, names, top):
    """Inclusive and self shares of the heaviest frames, and of each kind as a leaf."""
    total = len(stacks)
    inclusive, leaf, leaf_kind = collections.Counter(), collections.Counter(), collections.Counter()
    for stack in stacks:
        seen = set()
        for symbol, _ in stack:
            label = names.get(symbol, symbol)
            if label not in seen:
                inclusive[label] += 1
                seen.add(label)
        symbol, obj = stack[-1]
        leaf[names.get(symbol, symbol)] += 1
        leaf_kind[kind(symbol, obj)] += 1
    lines = ["where the samples end (self), by origin:"]
    lines += [f"  {k:8} {100.0 * n / total:5.1f}%" for k, n in leaf_kind.most_common()]
    lines.append(f"heaviest leaves (self), top {top}:")
    lines += [f"  {100.0 * n / total:5.1f}%  {name[:110]}" for name, n in leaf.most_common(top)]
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--svg", required=True, help="where to write the flame graph")
    parser.add_argument("--title", default="flame graph")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    stacks = list(read_stacks(sys.stdin))
    if not stacks:
        print("error: no samples in the input (is it `perf script` output?)", file=sys.stderr)
        return 1
    names = demangler({s for stack in stacks for s, _ in stack})
    with open(args.svg, "w", encoding="utf-8") as out:
        out.write(svg(build_tree(stacks, names), args.title))
    print(table(stacks, names, args.top))
    return 0


if __name__ == "__main__":
    sys.exit(main())
