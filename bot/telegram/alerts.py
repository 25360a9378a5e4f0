"""The release-day desk's messages for Telegram: the digests owed to subscribed chats and the
`/new` reply, as HTML with their buttons.

`bot.desk` says what an edition means for a patch; this module decides which chats are owed a
digest and sets it for Telegram through `render`.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.desk import Digest, build_digest, digest_buttons, newest_edition
from bot.parts import Button
from bot.store import Store
from bot.subscriptions import PatchArea, Subscriptions, patch_text
from bot.telegram.render import digest_html, plain_html


@dataclass(frozen=True)
class Due:
    """A digest to send: the Telegram layer sends `text` (HTML) with `buttons`, then calls
    `Subscriptions.mark_sent(chat, edition)`."""

    chat: int
    edition: str
    text: str
    buttons: tuple[Button, ...]


def digest_due(subs: Subscriptions, store: Store) -> list[Due]:
    """Digests owed to subscribed chats: the newest edition for each chat's patch, when the
    chat has not been sent it and the edition holds figures for the patch."""
    due: list[Due] = []
    built: dict[tuple[PatchArea, ...], Digest] = {}
    for chat in subs.subscribed():
        patch = tuple(subs.patch(chat))
        if not patch:
            continue
        if patch not in built:
            edition = newest_edition(store, patch)
            built[patch] = build_digest(store, patch, edition.key if edition else None)
        digest = built[patch]
        if (digest.edition_key is None or not digest.covered
                or subs.was_sent(chat, digest.edition_key)):
            continue
        due.append(Due(chat, digest.edition_key, digest_html(digest), digest_buttons(digest)))
    return due


def on_demand(subs: Subscriptions, store: Store, chat: int) -> tuple[str, tuple[Button, ...]]:
    """`/new`: the newest edition's digest for the chat's patch, as (HTML, buttons)."""
    patch = subs.patch(chat)
    if not patch:
        return plain_html(patch_text(patch)), ()
    digest = build_digest(store, patch)
    return digest_html(digest), digest_buttons(digest)
