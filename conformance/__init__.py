"""Conformance: cases recorded from the real Mistral 23.0.0 and replayed against Tramontane.

``python -m conformance record --url <mistral>/v2`` writes ``expected/<case>.json``;
``python -m conformance check --url <tramontane>/v2`` replays every case and reports each
difference that ``deviations.yaml`` does not list. See ``docs/compatibility.md``.
"""
