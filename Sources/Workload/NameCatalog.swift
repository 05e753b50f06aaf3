/// The words a synthetic gateway's traffic is made of: principal names and the
/// resources each kind of principal talks to. Plausible names make a demo's
/// alerts readable ("svc-billing on pg://orders"), which random strings would not.
enum NameCatalog {
    static let services = [
        "billing", "orders", "inventory", "search", "auth", "payments", "catalog", "shipping",
        "notifications", "reports", "ledger", "pricing", "checkout", "accounts", "sessions",
        "recommendations", "fraud", "media", "geo", "audit", "email", "tax", "loyalty", "support",
        "cart", "quotes", "refunds", "identity", "webhooks", "scheduler",
    ]

    static let people = [
        "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy",
        "mallory", "niaj", "olivia", "peggy", "rupert", "sybil", "trent", "victor", "walter", "wendy",
    ]

    static let jobs = [
        "nightly-etl", "backup", "reindex", "report-export", "billing-close", "log-compaction",
        "ml-features", "invoice-run", "data-sync", "cache-warm", "gdpr-purge", "snapshot",
    ]

    static let serviceResources = [
        "pg://orders", "pg://billing", "pg://inventory", "mysql://catalog", "redis://sessions",
        "https://api/v1/users", "https://api/v1/payments", "https://api/v1/orders", "kafka://events",
        "kafka://audit-log", "s3://reports", "grpc://auth:443", "mongodb://profiles", "pg://ledger",
        "https://api/v2/search", "amqp://notifications", "redis://cache-1", "https://partner.example/api",
        "pg://shipping", "mysql://pricing", "elasticsearch://logs", "https://api/v1/carts",
        "grpc://fraud:443", "s3://media",
    ]

    static let humanResources = [
        "ssh://bastion-1", "ssh://bastion-2", "pg://analytics", "https://grafana/api",
        "https://admin/api/v1", "rdp://jumpbox-3", "pg://orders-replica", "https://kibana/api",
        "k8s://prod-cluster", "ssh://build-7",
    ]

    static let jobResources = [
        "s3://warehouse/raw", "pg://orders-replica", "snowflake://dw", "sftp://partner-feed",
        "s3://backups/daily", "https://api/v1/export",
    ]

    /// Never in anyone's normal set, so touching one is novel for every principal.
    static let sensitiveResources = [
        "pg://hr-payroll", "s3://backups-prod/keys", "ssh://db-primary-1", "https://vault/v1/secrets",
        "pg://customers-pii",
    ]

    /// Times of day (seconds after 00:00 UTC) at which batch jobs typically run.
    static let jobTimes = [
        1 * 3600 + 30 * 60, 2 * 3600, 3 * 3600 + 15 * 60, 4 * 3600, 12 * 3600,
        20 * 3600 + 45 * 60, 22 * 3600, 23 * 3600 + 15 * 60,
    ]

    static let teams = ["payments", "platform", "storefront", "data", "risk", "growth"]
    static let regions = ["eu-west-1", "us-east-1", "ap-south-1"]
    static let idps = ["okta", "azure-ad", "google"]

    /// The i-th distinct name from a pool: the pool in order, then with `-2`, `-3` … suffixes.
    static func name(_ pool: [String], _ i: Int, prefix: String, suffix: String = "") -> String {
        let round = i / pool.count
        let base = prefix + pool[i % pool.count]
        return (round == 0 ? base : base + "-" + String(round + 1)) + suffix
    }
}
