"""Plumbing shared by every room: Cloud Storage with generation checks, Pub/Sub, claims, small records that
outlive an instance, background workers, HTTP replies, task sharding.
"""
