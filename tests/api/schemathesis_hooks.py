"""schemathesis hooks for the API run (loaded through SCHEMATHESIS_HOOKS).

`format: radar-query` marks the include query: a grammar JSON Schema cannot state, so
schema-valid queries are drawn from that grammar (words, quoted phrases, AND/OR/NOT,
parentheses); a query that does not parse is still sent by the negative cases' other
mutations and must be a 4xx.
"""

from __future__ import annotations

import schemathesis
from hypothesis import strategies as st

_WORD = st.text(alphabet="abcdefghijklmnopqrstuvwxyzéü", min_size=1, max_size=12)
_TERM = st.one_of(_WORD, st.tuples(_WORD, _WORD).map(lambda pair: f'"{pair[0]} {pair[1]}"'))
_OPERATOR = st.sampled_from([" ", " AND ", " OR ", " NOT "])
QUERY = st.recursive(
    _TERM,
    lambda inner: st.one_of(
        st.tuples(inner, _OPERATOR, inner).map("".join), inner.map(lambda q: f"({q})")
    ),
    max_leaves=6,
)

schemathesis.openapi.format("radar-query", QUERY)
