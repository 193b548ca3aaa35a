"""Templates of the ICLR 2021 lifting paper's shapes, generated from a dataset's own vocabulary.

Benchmarks feed the same template text to our engine and to the reference engine, so the text is produced
here once. But for ``molecule_gnn_plain``, every weight is named (``$w_...``) and every rule and predicate
states its activation and aggregation, as in the conformance cases, so no engine default matters and
weights can be moved between engines by name.

- ``molecule_gnn``: a 3-dim embedding per atom type and per bond type, one message-passing layer
  ``l1(X)`` over ``bond(X,Y,B)`` that adds ``{3,3}`` maps of the atom's, the neighbour's and the bond's
  embeddings (sigmoid, averaged over the neighbours), and a ``{1,3}`` readout ``predict`` averaged over the
  atoms (sigmoid).
- ``molecule_gnn_plain``: the paper's molecule GNN as a new user writes it (lifting issue 9): no metadata,
  so the engines' default functions decide (the Java CLI's: tanh, sum, avg), unnamed weights, predicate
  offsets on the embeddings and the readout, a message-passing layer ``l1_embed(X)`` and a readout
  ``predict`` over ``bond(X,Y,B)``, each adding ``{3,3}`` maps of an embedding, of the bond's embedding and a
  ``{3}`` weight on the bond fact itself.
- ``kb_embedding``: a 3-dim embedding per entity and per relation; a subject context ``ctx_sub(X)`` and an
  object context ``ctx_obj(Y)`` averaged over the triples the entity takes part in (tanh of ``{3,3}`` maps of
  the relation's and the other entity's embeddings); a ``{1,3}`` score ``predict(X,R,Y)`` of ``{3,3}`` maps of
  the two contexts and the relation embedding (tanh, then a sigmoid on the predicate). With ``attributes``
  (nations), also a 3-dim embedding per attribute and a ``{1,3}`` score ``predict(X,A)`` of ``{3,3}`` maps of
  the entity's and the attribute's embeddings, as the paper's nations template has.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

_UNARY_FACT = re.compile(r"(?<![\w@$*~])([a-z][A-Za-z0-9_]*)\(\s*([^,()\s]+)\s*\)")


def _bond_ids(line: str) -> set[str]:
    """Third arguments of the ``bond(X, Y, B)`` facts on one example line: the bond identifiers."""
    return set(re.findall(r"\bbond\(\s*[^,()]+,\s*[^,()]+,\s*([^,()\s]+)\s*\)", line))


def molecule_types(examples_path: str | Path) -> tuple[list[str], list[str]]:
    """Atom-type and bond-type predicates of a molecule dataset (one example per line).

    A unary fact is a bond type when its argument is the bond identifier of some ``bond/3`` fact on the
    same line, otherwise an atom type. Both lists are sorted.
    """
    atom_types: set[str] = set()
    bond_types: set[str] = set()
    with open(examples_path, encoding="utf-8") as stream:
        for line in stream:
            bonds = _bond_ids(line)
            for predicate, argument in _UNARY_FACT.findall(line):
                (bond_types if argument in bonds else atom_types).add(predicate)
    return sorted(atom_types), sorted(bond_types)


def molecule_gnn(atom_types: Iterable[str], bond_types: Iterable[str], dim: int = 3) -> str:
    """The paper's molecule GNN over the given atom and bond types (see the module docstring)."""
    lines = [
        f"$w_at_{t}={{{dim},1}} atom_embed(A) :- {t}(A). [activation=identity, aggregation=avg]" for t in atom_types
    ]
    lines += [
        f"$w_bt_{t}={{{dim},1}} bond_embed(B) :- {t}(B). [activation=identity, aggregation=avg]" for t in bond_types
    ]
    lines += [
        "atom_embed/1 [activation=identity]",
        "bond_embed/1 [activation=identity]",
        f"l1(X) :- $w_l1_self={{{dim},{dim}}} atom_embed(X), $w_l1_nb={{{dim},{dim}}} atom_embed(Y), "
        f"*bond(X,Y,B), $w_l1_bond={{{dim},{dim}}} bond_embed(B). [activation=sigmoid, aggregation=avg]",
        "l1/1 [activation=identity]",
        f"$w_out={{1,{dim}}} predict :- l1(X). [activation=identity, aggregation=avg]",
        "predict/0 [activation=sigmoid]",
    ]
    return "\n".join(lines) + "\n"


def molecule_gnn_plain(atom_types: Iterable[str], bond_types: Iterable[str], dim: int = 3) -> str:
    """The molecule GNN without metadata (see the module docstring)."""
    lines = [f"{{{dim},1}} atom_embed(A) :- {t}(A)." for t in atom_types]
    lines += [f"{{{dim},1}} bond_embed(B) :- {t}(B)." for t in bond_types]
    square = f"{{{dim},{dim}}}"
    lines += [
        f"atom_embed/1 {{{dim},1}}",
        f"bond_embed/1 {{{dim},1}}",
        f"l1_embed(X) :- {square} atom_embed(Y), {{{dim}}} bond(X,Y,B), {square} bond_embed(B).",
        f"{{1,{dim}}} predict :- {square} l1_embed(Y), {{{dim}}} bond(X,Y,B), {square} bond_embed(B).",
        "predict/0 {1}",
    ]
    return "\n".join(lines) + "\n"


def kb_vocabulary(examples_path: str | Path, entity: str, relation: str) -> tuple[list[str], list[str]]:
    """Entities and relations a knowledge base declares with ``<entity>(c)`` and ``<relation>(c)`` facts."""
    text = Path(examples_path).read_text(encoding="utf-8")
    declared: dict[str, set[str]] = {entity: set(), relation: set()}
    for predicate, argument in _UNARY_FACT.findall(text):
        if predicate in declared:
            declared[predicate].add(argument)
    return sorted(declared[entity]), sorted(declared[relation])


def kb_embedding(entities: Iterable[str], relations: Iterable[str], triple: str, dim: int = 3,
                 attributes: Iterable[str] = ()) -> str:
    """The paper's knowledge-base embedding template (see the module docstring).

    ``triple`` is the data's triple literal over the variables ``R`` (relation), ``X`` (subject) and ``Y``
    (object), e.g. ``r(R,X,Y)`` for kinships or ``r(X,R,Y)`` for nations. ``attributes`` adds the scores
    ``predict(X,A)`` of entity-attribute pairs.
    """
    if sorted(re.findall(r"\b[RXY]\b", triple)) != ["R", "X", "Y"]:
        raise ValueError(f"triple must mention each of R, X and Y once, got {triple!r}")
    square = f"{{{dim},{dim}}}"
    lines = [f"$w_e_{e}={{{dim}}} embed_ent({e})." for e in entities]
    lines += [f"$w_r_{r}={{{dim}}} embed_rel({r})." for r in relations]
    lines += [
        f"ctx_sub(X) :- $w_cs_rel={square} embed_rel(R), $w_cs_obj={square} embed_ent(Y), *{triple}. "
        "[activation=tanh, aggregation=avg]",
        "ctx_sub/1 [activation=identity]",
        f"ctx_obj(Y) :- $w_co_rel={square} embed_rel(R), $w_co_sub={square} embed_ent(X), *{triple}. "
        "[activation=tanh, aggregation=avg]",
        "ctx_obj/1 [activation=identity]",
        f"$w_score={{1,{dim}}} predict(X,R,Y) :- $w_s_sub={square} ctx_sub(X), $w_s_rel={square} embed_rel(R), "
        f"$w_s_obj={square} ctx_obj(Y). [activation=tanh, aggregation=avg]",
        "predict/3 [activation=sigmoid]",
    ]
    attributes = list(attributes)
    if attributes:
        lines += [f"$w_att_{a}={{{dim}}} embed_att({a})." for a in attributes]
        lines += [
            f"$w_attr={{1,{dim}}} predict(X,A) :- $w_pa_ent={square} embed_ent(X), "
            f"$w_pa_att={square} embed_att(A). [activation=tanh, aggregation=avg]",
            "predict/2 [activation=sigmoid]",
        ]
    return "\n".join(lines) + "\n"
