"""For the ADR file tests: the fixture folders (tests/data/adr_files) and a hypothesis strategy
for the people an ADR names (a name, a Slack id, or both)."""

from __future__ import annotations

from pathlib import Path

from hypothesis import strategies as st

from adr_files.records import PersonRef

FIXTURES = Path(__file__).resolve().parents[1] / "data" / "adr_files"
_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZàéîõüßÇ"
_NAME = st.builds(
    lambda first, rest: (first + rest).strip(),
    st.sampled_from(_LETTERS),
    st.text(_LETTERS + " .'-", max_size=20),
)
_USER_ID = st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=8, max_size=8).map("U{}".format)


@st.composite
def people(draw: st.DrawFn) -> PersonRef:
    name, user_id = draw(_NAME), draw(st.none() | _USER_ID)
    if user_id is None:
        return PersonRef.parse(name)
    return PersonRef.parse(draw(st.sampled_from([f"{name} (@{user_id})", f"@{user_id}"])))
