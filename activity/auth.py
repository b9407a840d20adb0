"""Which Spark token acts for a Slack user: theirs if they connected, else the workspace's."""

from __future__ import annotations

from dataclasses import dataclass, field

from activity.services import Services
from storage import get_connection


class NotConnected(Exception):
    """Neither the user nor the workspace has a usable Spark token."""


class ConnectionBroken(NotConnected):
    """The user's own connection stopped working (e.g. its refresh was revoked): reconnect."""


@dataclass(frozen=True)
class Credential:
    token: str = field(repr=False)
    workspace: bool  # True when the workspace-wide SPARK_ACCESS_TOKEN is used


def credential_for(services: Services, team_id: str, user_id: str) -> Credential:
    """The token to act with for (team, user); raises `NotConnected` if there is none."""
    connection = get_connection(services.db, services.cipher, team_id, user_id)
    if connection is not None:
        if connection.status != "ok":
            raise ConnectionBroken
        return Credential(connection.access_token, workspace=False)
    if services.settings.spark_access_token:
        return Credential(services.settings.spark_access_token, workspace=True)
    raise NotConnected
