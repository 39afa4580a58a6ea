"""What the Kimai 2 emulator's tests share besides fixtures."""


def bearer(username: str) -> dict[str, str]:
    """small_state() gives every user the token `<username>-token`."""
    return {"Authorization": f"Bearer {username}-token"}
