"""A ruleset's whole decision written out as one generated Python function, once per load.

This is the compiled engine's fast path; ``PyProgram`` (pyengine.py) runs the same meaning
as an agenda over generated pieces, and is what runs when this source cannot be compiled.
The function takes the JSON-shaped input and gives the ``Decision``:

- the input is checked inline (``checkgen.py``, ``inputs.py``) into locals; a valid input
  never becomes a dict (unless a condition needs a closure, which reads one);
- each stage's rules are written in firing order (priority, then file order), each tested
  once when its turn comes (``rules.py``). After a rule derives a fact that a rule *earlier*
  in the order reads, a catch-up walk tests the earlier rules on facts (the input-only ones
  are settled) before the walk goes on: the next rule to fire is always the first in order
  whose condition holds now, and each fires at most once (a flag per rule on facts). Where
  the catch-ups would make too much source, the stage's walk starts again from the top
  instead, with its input-only conditions tested once up front. Conditions have no
  effects, so the agenda's order of *testing* them is not kept, only its firings;
- ``stop`` leaves the walk (and the later stages' rules); the chain limit is a counter,
  written only when the ruleset has more rules than ``max_firings``;
- tables of hit policy first, collect and rule order are written row by row; the others,
  and tables that set intermediate values, apply ``Table.resolve`` to the rows that match
  (``tables.py``);
- outputs, intermediate values and "set keeps the first value" are locals and flags until
  the outputs are assembled in schema order (``build.py``, which also compiles the source).

The source is built from the validated IR only (``codegen._Writer``, here
``writer.LocalWriter``: names are generated, text constants written with ``repr``,
everything else passed by reference).
"""
