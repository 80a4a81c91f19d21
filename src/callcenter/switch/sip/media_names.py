"""What the switch's media are called: the site's options, the prompts the core names,
and the conference roles, in the media engine's terms.

Prompts (:func:`play_source`): a name the settings map to a file, ``moh``/``default``
(the music-on-hold file, or the ringback tone when there is none), ``tone:NAME`` or
``tone:NAME:SECONDS`` (the site's tone plan: ringback, busy, congestion, dial),
``silence:SECONDS``, or a WAV path. ``say:TEXT`` is spoken by espeak-ng
(:class:`~callcenter.switch.sip.media.SwitchMedia` makes the file first).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from callcenter.media.port import RecordingFormat
from callcenter.media.port import Role as EngineRole
from callcenter.switch.ports import InvalidArgument, ListenOnly, Role, TalkListen, WhisperTo

__all__ = ["MediaOptions", "engine_role", "play_source"]


@dataclass(frozen=True)
class MediaOptions:
    """What the site's settings say about the switch's media."""

    recordings_dir: Path
    music_on_hold: str = ""  # a WAV file; empty: the ringback tone stands in
    prompts: Mapping[str, str] = field(default_factory=dict)  # name -> WAV file
    prompts_dir: Path | None = None  # espeak-ng's cache for say:TEXT prompts
    voice: str = "cmn"
    tone_plan: str = "cn"
    recording_format: RecordingFormat = "pcm16"
    amd_timeout: float = 6.0


def play_source(prompt: str, options: MediaOptions) -> dict[str, Any] | None:
    """The engine's play arguments for a prompt name; None for ``say:`` (needs speech)
    or a name that is nothing known."""
    if prompt in options.prompts:
        return {"prompt": options.prompts[prompt]}
    if prompt in ("moh", "default"):
        if options.music_on_hold:
            return {"prompt": options.music_on_hold}
        return {"tone": "ringback", "plan": options.tone_plan}
    kind, _, value = prompt.partition(":")
    if kind == "tone" and value:
        tone, _, seconds = value.partition(":")
        source: dict[str, Any] = {"tone": tone, "plan": options.tone_plan}
        if seconds:
            try:
                source["seconds"] = float(seconds)
            except ValueError:
                return None
        return source
    if kind == "silence" and value:
        try:
            return {"silence": float(value)}
        except ValueError:
            return None
    if prompt.endswith(".wav") and Path(prompt).is_file():
        return {"prompt": prompt}
    return None


def engine_role(role: Role) -> tuple[EngineRole, str | None]:
    if isinstance(role, TalkListen):
        return "talk_listen", None
    if isinstance(role, ListenOnly):
        return "listen_only", None
    if isinstance(role, WhisperTo):
        return "whisper_to", role.leg
    raise InvalidArgument(f"unknown role {role!r}")
