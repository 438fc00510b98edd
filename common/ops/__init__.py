"""Operations: backup and restore of the store and its companions, and quality rebuilt from the events."""
