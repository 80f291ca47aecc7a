"""The audit trail (DPA 2018 s.62): who collected, changed, consulted, disclosed, combined
or erased personal data, hash-chained so that `dispatch audit verify` proves it whole."""

from dispatch.audit.chain import SYSTEM, Action, by, record, record_by, record_in

__all__ = ["SYSTEM", "Action", "by", "record", "record_by", "record_in"]
