"""The HTTP store with leases: a local run against a ``taskmill server`` (:mod:`taskmill.store.lease`).

Apart from :mod:`taskmill.store.leased_sql` so that opening one backend never imports the other.
"""

from __future__ import annotations

from taskmill.store.http import HttpTaskStore
from taskmill.store.lease import LeaseRecording


class LeasedHttpTaskStore(LeaseRecording, HttpTaskStore):
    """The HTTP store, recording the lease of the local tasks this process starts running
    (a ``Task.init`` script or a local pipeline run against a server): a client of this host
    that opens the store later ends them if this process died (:func:`reap_in_background`)."""
