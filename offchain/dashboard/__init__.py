"""`poq dashboard`: a read-only web view of one PoQ deployment, built from the chain alone.

`snapshot` holds every chain read and returns plain JSON-able dicts; `server` serves them with the
page, its script and Chart.js; `background` runs a server detached for `poq demo`.
"""
