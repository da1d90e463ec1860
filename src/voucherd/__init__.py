"""voucherd: a self-hosted voucher and gift-card service."""

__version__ = "0.1.0"
