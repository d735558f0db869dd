"""Generate src/irsa/policy/data/aws_managed_policies.json.gz from moto's managed-policy catalogue.

Source: moto (https://github.com/getmoto/moto), module ``moto/iam/aws_managed_policies.py``,
licensed Apache-2.0, Copyright the moto contributors. The policy documents are authored by AWS.
Run: .venv/bin/python scripts/gen_managed_policies.py  (moto must be importable).
Output is deterministic: policies sorted by name, gzip with mtime 0.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "src" / "irsa" / "policy" / "data" / "aws_managed_policies.json.gz"


def _document_text(doc: dict) -> str:
    # AWS shows managed documents with Version first and 4-space indentation.
    ordered = {k: doc[k] for k in ("Version", "Id", "Statement") if k in doc}
    ordered.update({k: v for k, v in doc.items() if k not in ordered})
    return json.dumps(ordered, indent=4)


def main() -> None:
    import moto
    from moto.iam.aws_managed_policies import aws_managed_policies_data

    source = json.loads(aws_managed_policies_data)
    policies = []
    for name in sorted(source):
        entry = source[name]
        policies.append(
            {
                "name": name,
                "path": entry["Path"],
                "default_version_id": entry["DefaultVersionId"],
                "create_date": entry["CreateDate"],
                "update_date": entry["UpdateDate"],
                "permissions_boundary_usage_count": entry.get("PermissionsBoundaryUsageCount", 0),
                "document": _document_text(entry["Document"]),
            }
        )
    payload = {
        "source": f"moto {moto.__version__} moto/iam/aws_managed_policies.py (Apache-2.0); documents authored by AWS",
        "policies": policies,
    }
    raw = json.dumps(payload, separators=(",", ":"), sort_keys=False).encode("utf-8")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_bytes(gzip.compress(raw, compresslevel=9, mtime=0))
    print(f"wrote {len(policies)} policies to {OUT} ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
