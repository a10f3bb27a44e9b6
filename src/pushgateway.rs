//! `--pushgateway URL`: after a run, the metrics `--metrics-file` writes are pushed to a
//! Prometheus Pushgateway, for runs that end before anything could scrape them (a Kubernetes
//! CronJob's pod). One group per shard, so the pods of an Indexed Job do not overwrite each
//! other. Bounded: two calls of at most [`TIMEOUT`] each; a failure is the caller's warning.

use std::time::Duration;

use anyhow::Context;
use reqwest::Url;

use crate::cli::Shard;
use crate::error::usage;
use crate::redact;
use crate::report::metrics::{RunMetrics, SUCCESS_METRIC};

/// The Pushgateway's `job` label.
pub const JOB: &str = "lk-reaper";
/// Each call's limit, connecting included.
const TIMEOUT: Duration = Duration::from_secs(5);

/// Refuses (exit 2), before the run, a URL that is not http(s).
pub fn check_url(url: &str) -> anyhow::Result<()> {
    group_url(url, None).map(|_| ()).map_err(|_| {
        usage(format!(
            "--pushgateway / LK_REAPER_PUSHGATEWAY {} is not an http:// or https:// URL",
            redact::url(url)
        ))
    })
}

/// `URL/metrics/job/lk-reaper`, plus `/shard/K` for shard K; a path in `base` is kept as a
/// prefix (a Pushgateway behind a reverse proxy).
pub fn group_url(base: &str, shard: Option<Shard>) -> anyhow::Result<Url> {
    let shard = shard.map(|s| s.index.to_string());
    let mut segments = vec!["metrics", "job", JOB];
    if let Some(k) = &shard {
        segments.extend(["shard", k.as_str()]);
    }
    below(base, &segments)
}

/// `base` with `segments` added to its path, its query and fragment dropped.
fn below(base: &str, segments: &[&str]) -> anyhow::Result<Url> {
    let mut url = Url::parse(base).context("not a URL")?;
    anyhow::ensure!(
        matches!(url.scheme(), "http" | "https") && url.has_host(),
        "not an http:// or https:// URL"
    );
    url.set_query(None);
    url.set_fragment(None);
    url.path_segments_mut()
        .map_err(|()| anyhow::anyhow!("not a base URL"))?
        .pop_if_empty()
        .extend(segments);
    Ok(url)
}

/// Replaces the group's metrics with this run's (HTTP PUT). The last success survives a
/// failed run as it does in the textfile: it is read back from the Pushgateway first.
pub async fn push(base: &str, shard: Option<Shard>, run: &RunMetrics<'_>) -> anyhow::Result<()> {
    let shown = redact::url(base);
    let url = group_url(base, shard).with_context(|| format!("--pushgateway {shown}"))?;
    let tls = crate::livekit::tls::client_config(url.scheme() == "https")?;
    let client = reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .timeout(TIMEOUT)
        .connect_timeout(TIMEOUT)
        .build()?;
    let previous = previous_success(&client, base, shard).await;
    let response = client
        .put(url)
        .header(
            reqwest::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )
        .body(run.render(previous))
        .send()
        .await
        .map_err(reqwest::Error::without_url)
        .with_context(|| format!("metrics not pushed to {shown}"))?;
    let status = response.status();
    anyhow::ensure!(
        status.is_success(),
        "metrics not pushed to {shown}: the Pushgateway answered HTTP {status}"
    );
    Ok(())
}

/// The group's last success time as the Pushgateway holds it (its JSON API, `api/v1/metrics`),
/// or `None` when it has none or cannot say.
async fn previous_success(
    client: &reqwest::Client,
    base: &str,
    shard: Option<Shard>,
) -> Option<f64> {
    let url = below(base, &["api", "v1", "metrics"]).ok()?;
    let answer = client.get(url).send().await.ok()?;
    let groups: serde_json::Value = answer.error_for_status().ok()?.json().await.ok()?;
    success_in(&groups, shard)
}

/// Finds our group (job lk-reaper, the shard's label or none) in the JSON API's answer and
/// reads its last success.
fn success_in(answer: &serde_json::Value, shard: Option<Shard>) -> Option<f64> {
    let shard = shard.map(|s| s.index.to_string());
    let ours = |group: &&serde_json::Value| {
        let labels = &group["labels"];
        labels["job"] == JOB && labels["shard"].as_str() == shard.as_deref()
    };
    let group = answer["data"].as_array()?.iter().find(ours)?;
    group[SUCCESS_METRIC]["metrics"][0]["value"]
        .as_str()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_group_url_names_the_job_and_the_shard() {
        let shard = Shard::new(2, 4);
        let cases = [
            (
                "http://pg:9091",
                None,
                "http://pg:9091/metrics/job/lk-reaper",
            ),
            (
                "http://pg:9091/",
                shard,
                "http://pg:9091/metrics/job/lk-reaper/shard/2",
            ),
            (
                "https://h/prefix/?x=1",
                None,
                "https://h/prefix/metrics/job/lk-reaper",
            ),
        ];
        for (base, shard, want) in cases {
            assert_eq!(group_url(base, shard).unwrap().as_str(), want, "{base}");
        }
        for bad in ["pg:9091", "ftp://pg/", "not a url", "unix:/run/pg.sock"] {
            assert!(check_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_last_success_is_read_from_our_group_only() {
        let answer = serde_json::json!({"status": "success", "data": [
            {"labels": {"job": "lk-reaper", "shard": "1"},
             "lk_reaper_last_success_timestamp_seconds": {"metrics": [{"value": "111"}]}},
            {"labels": {"job": "lk-reaper"},
             "lk_reaper_last_success_timestamp_seconds": {"metrics": [{"value": "222.5"}]}},
            {"labels": {"job": "other"},
             "lk_reaper_last_success_timestamp_seconds": {"metrics": [{"value": "333"}]}}
        ]});
        assert_eq!(success_in(&answer, None), Some(222.5));
        assert_eq!(success_in(&answer, Shard::new(1, 2)), Some(111.0));
        assert_eq!(success_in(&answer, Shard::new(0, 2)), None);
        assert_eq!(success_in(&serde_json::json!({"data": "?"}), None), None);
    }
}
