"""DNS verification: probe authoritative servers, judge records, report, CAA, the support request."""
