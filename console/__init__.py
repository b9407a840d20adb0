"""Terminal rendering of Slack messages for the local console shell."""

from console.render import ConsoleButton, Reader, RenderedMessage, mrkdwn_text, render_message

__all__ = ["ConsoleButton", "Reader", "RenderedMessage", "mrkdwn_text", "render_message"]
