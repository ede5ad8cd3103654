"""The walrus-evm SDK: `Client` stores and reads blobs (chain + storage nodes)."""

from backend.sdk.client import BlobStatus, Client, StoreResult
from backend.sdk.config import ClientSettings, load_client

__all__ = ["BlobStatus", "Client", "ClientSettings", "StoreResult", "load_client"]
