#!/usr/bin/env python3
"""The independent reference of parse: xml (docs/upstreams.md, "XML and
SOAP"): xmltodict (Debian python3-xmltodict, on expat) with options that
reproduce the rules, and a post-processing of its output for the two rules
xmltodict has no option for: namespace declarations are never members, and an
xml.arrays path is [] when its parent is there without it.

Reads a JSON array of cases {"xml": text, "keep": bool, "arrays": [paths]}
from argv[1] and writes a JSON array of documents (or {"error": text}) to
argv[2]. Used by tests/unit/ingest_xml_property_test.cpp."""
import collections
import json
import sys

import xmltodict


def local(name):
    return name.rsplit(":", 1)[-1]


def without_xmlns(value):
    """Namespace declarations are not attributes: an element left with no
    member is empty (None), one left with its text only is that text."""
    if isinstance(value, list):
        return [without_xmlns(v) for v in value]
    if isinstance(value, dict):
        out = {k: without_xmlns(v) for k, v in value.items()
               if not (k == "@xmlns" or k.startswith("@xmlns:"))}
        if not out:
            return None
        if list(out) == ["#text"]:
            return out["#text"]
        return out
    return value


def add_empty_arrays(value, path, forced):
    """`value` is the element at `path` (local names), or a list of them."""
    if isinstance(value, list):
        return [add_empty_arrays(v, path, forced) for v in value]
    children = forced.get(path, set())
    if children:
        if value is None:
            value = {}
        elif isinstance(value, str):
            value = {"#text": value}
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if k.startswith("@") or k == "#text":
                out[k] = v
            else:
                out[k] = add_empty_arrays(v, path + "/" + local(k), forced)
        present = {local(k) for k in out}
        for c in sorted(children):
            if c not in present:
                out[c] = []
        value = out
    return value


def reference(case):
    arrays = set(case["arrays"])
    forced = collections.defaultdict(set)
    for p in arrays:
        parent, _, child = p.rpartition("/")
        if parent:
            forced[parent].add(child)

    def force_list(path, key, value):
        return "/" + "/".join([local(p[0]) for p in path] + [local(key)]) in arrays

    if case["keep"]:
        doc = xmltodict.parse(case["xml"], force_list=force_list)
    else:
        doc = xmltodict.parse(case["xml"], process_namespaces=True,
                              namespaces=collections.defaultdict(lambda: None),
                              force_list=force_list)
    doc = without_xmlns(doc)
    (root, value), = doc.items()
    return {root: add_empty_arrays(value, "/" + local(root), forced)}


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        cases = json.load(f)
    out = []
    for case in cases:
        try:
            out.append(reference(case))
        except Exception as e:  # an expat error: the C++ side must fail too
            out.append({"error": str(e)})
    with open(sys.argv[2], "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False)


main()
