"""A template as a graph of predicates and rules.

Every predicate ``name/arity`` is a node: blue when some rule or template fact derives it,
grey when only the data can provide it (an *input* predicate). Every rule is a yellow node
labelled with its number (1-based, in text order, as the parameter names ``rule3.head`` count)
and the functions its metadata chooses; edges run from each body literal's predicate into
the rule, labelled with the literal's weight as written (``{3,3}``, ``$w``, ``<0.5>``; ``~`` for
soft negation, ``!`` for hard negation, and the function of ``sqrt(b)``), dashed for a hidden ``*`` literal and dotted for a
built-in, and from the rule into its head's predicate, labelled with the head weight.
"""

from __future__ import annotations

from ..language import ir
from ..language.pairing import counted
from .dot import Drawing, Edge, Node


def draw_template(template: ir.Template, title: str = "template") -> Drawing:
    """The predicates and rules of ``template`` (module docstring)."""
    drawing = Drawing(title)
    functions = {(s.predicate.name, s.predicate.arity): ", ".join(f"{v}" for _, v in s.metadata.entries)
                 for s in template.predicate_metadata}
    derived = {rule.head.signature for rule in template.rules} | {fact.atom.signature for fact in template.facts}
    for fact in template.facts:
        _predicate(drawing, fact.atom, derived, functions)
    for number, rule in enumerate(template.rules, 1):
        name = f"rule{number}"
        chosen = ", ".join(f"{value}" for _, value in rule.metadata.entries)
        drawing.nodes[name] = Node("template rule", f"rule {number}" + (f"\n{chosen}" if chosen else ""),
                                   tooltip=str(rule))
        for literal in rule.body:
            label = (literal.negation if literal.negation != ir.Negation.NONE else "") + \
                (str(literal.weight) if literal.weight is not None else "") + \
                (f" {literal.function}" if literal.function is not None else "")
            style = "dotted" if literal.atom.builtin else "dashed" if literal.hidden else ""
            drawing.edges.append(Edge(_predicate(drawing, literal.atom, derived, functions), name, label,
                                      {"style": style} if style else {}))
        head_label = str(rule.head_weight) if rule.head_weight is not None else ""
        if rule.offset is not None:
            drawing.nodes[name].label += f"\noffset {rule.offset}"
        drawing.edges.append(Edge(name, _predicate(drawing, rule.head, derived, functions), head_label))
    predicates = sum(node.kind != "template rule" for node in drawing.nodes.values())
    drawing.notes.append(f"{counted(len(template.rules), 'rule')}, {counted(predicates, 'predicate')} "
                         "(grey: given by the data)")
    return drawing


def _predicate(drawing: Drawing, atom: ir.Atom, derived: set[str], functions: dict[tuple[str, int], str]) -> str:
    """The node id of ``atom``'s predicate, added on first use (labelled with the functions its metadata chooses)."""
    signature = atom.signature
    if signature not in drawing.nodes:
        extra = functions.get((atom.predicate, atom.arity), "")
        drawing.nodes[signature] = Node("predicate" if signature in derived else "input",
                                        signature + (f"\n{extra}" if extra else ""))
    return signature
