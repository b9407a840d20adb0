"""Terminal rendering of Slack messages for the local console shell."""

from console.render import ConsoleButton, RenderedMessage, mrkdwn_text, render_message

__all__ = ["ConsoleButton", "RenderedMessage", "mrkdwn_text", "render_message"]
