"""Domain invite rules: which servers' users may invite which servers' users.

The config maps an inviter's server to the servers whose users they may
invite (``policy.invite_rules.domain_mapping``); inviters whose server is not
in the mapping may invite anyone unless ``allow_unmapped_inviters`` is off.
A refusal is 403 and names the rule that refused.
"""

from sceau.config import InviteRulesConfig
from sceau.protocol.identifiers import parse_user_id
from sceau.services.events import EventSpec
from sceau.services.policy.access_rules import refusal


def _server(user_id: str) -> str | None:
    try:
        return parse_user_id(user_id)[1]
    except ValueError:
        return None


class InviteRules:
    def __init__(self, config: InviteRulesConfig) -> None:
        self._config = config

    def check(self, inviter: str, invitee: str) -> None:
        """Raise 403 if ``inviter`` may not invite ``invitee``."""
        inviter_server, invitee_server = _server(inviter), _server(invitee)
        if inviter_server is None or invitee_server is None:
            return
        allowed = self._config.domain_mapping.get(inviter_server)
        if allowed is None:
            if self._config.allow_unmapped_inviters:
                return
            raise refusal(
                "INVITE_RULE",
                f"Les utilisateurs de {inviter_server} ne peuvent inviter personne",
                f"Users of {inviter_server} may not invite anyone (invite_rules: not mapped)",
            )
        if invitee_server not in allowed:
            raise refusal(
                "INVITE_RULE",
                f"Les utilisateurs de {inviter_server} ne peuvent pas inviter ceux de "
                f"{invitee_server}",
                f"Users of {inviter_server} may not invite users of {invitee_server} "
                f"(invite_rules.domain_mapping.{inviter_server})",
            )

    async def check_local_event(self, _room_id: str, spec: EventSpec) -> None:
        """EventService's local check: applies to every invitation sent from here."""
        is_invite = (
            spec.event_type == "m.room.member" and spec.content.get("membership") == "invite"
        )
        if is_invite and spec.state_key is not None and spec.state_key != spec.sender:
            self.check(spec.sender, spec.state_key)
