"""The same listing and last-activity job written the way a Twilio user would, with Twilio's
official Python helper library, its HTTP client pointed at the simulator.

Usage: python3 sdk_sync.py HOST:PORT  (credentials in TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN)
Prints: accounts, requests, seconds.
"""
import os
import sys
import time
from datetime import date

from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client


class SimulatorClient(TwilioHttpClient):
    """Sends every Twilio request to the simulator, keeping the Host header (like --connect-to)."""

    def __init__(self, target):
        super().__init__()
        self.target = target
        self.count = 0

    def request(self, method, url, params=None, data=None, headers=None, auth=None, timeout=None, allow_redirects=False):
        self.count += 1
        scheme_host, _, path = url.partition("://")[2].partition("/")
        headers = dict(headers or {})
        headers["Host"] = scheme_host
        return super().request(method, f"http://{self.target}/{path}", params, data, headers, auth, timeout, allow_redirects)


def priced(p):
    try:
        return p is not None and float(p) != 0.0
    except (TypeError, ValueError):
        return False


def main():
    http = SimulatorClient(sys.argv[1])
    main_sid = os.environ["TWILIO_ACCOUNT_SID"]
    client = Client(main_sid, os.environ["TWILIO_AUTH_TOKEN"], http_client=http)
    started = time.perf_counter()
    result = {}
    for account in client.api.v2010.accounts.list(page_size=1000):
        usage = client.api.v2010.accounts(account.sid).usage.records
        extra = {"include_subaccounts": False} if account.sid == main_sid else {}
        monthly = [r for r in usage.monthly.list(page_size=1000, **extra) if priced(r.price)]
        last = None
        if monthly:
            newest = max(r.end_date for r in monthly)
            first = newest.replace(day=1)
            daily = [r for r in usage.daily.list(start_date=first, end_date=newest, page_size=1000, **extra) if priced(r.price)]
            last = max((r.end_date for r in daily), default=newest)
        result[account.sid] = (account.status, last)
    elapsed = time.perf_counter() - started
    print(f"{len(result)} {http.count} {elapsed:.3f}")


if __name__ == "__main__":
    main()
