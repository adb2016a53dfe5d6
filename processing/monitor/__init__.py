"""HJ 212 online monitoring: store packets in the database, receive them over TCP, ingest logged files."""
