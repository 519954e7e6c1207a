//! The public listener (`--open-data-listen`, off by default): Open311 GeoReport v2 read-only
//! (`/open311/v2/services.json`, `/services/{code}.json`, `/requests.json`, `/requests/{id}.json`,
//! each also `.xml`) and the monthly open-data export (`/open-data/YYYY/MM.json` or `.csv`). Plain
//! HTTP/1 for a proxy in front, or TLS with the hub's server certificate (no client certificate:
//! the data is public). Errors in the specification's format. Nothing personal is ever in reach:
//! the use cases behind it read no citizen.

use std::convert::Infallible;
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use http_body_util::Full;
use hyper::body::Bytes;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::watch;

use super::convert::time;
use crate::app::opendata::RequestQuery;
use crate::app::{AppError, Hotline, Store};
use crate::domain::opendata::PublicRequest;

/// A client that sends no request line in this long is dropped.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves the public endpoints on `listener` until `stop` turns true; with `tls`, over TLS.
pub async fn serve<S: Store>(
    listener: TcpListener,
    hotline: Hotline<S>,
    tls: Option<Arc<rustls::ServerConfig>>,
    mut stop: watch::Receiver<bool>,
) {
    let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stop.wait_for(|s| *s) => return,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(err) => {
                tracing::warn!(error = %err, "open data listener cannot accept");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let hotline = hotline.clone();
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request| {
                let hotline = hotline.clone();
                async move { Ok::<_, Infallible>(answer(&hotline, request).await) }
            });
            let mut http = http1::Builder::new();
            http.timer(TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT);
            let served = match acceptor {
                Some(acceptor) => match acceptor.accept(stream).await {
                    Ok(tls) => http.serve_connection(TokioIo::new(tls), service).await,
                    Err(err) => {
                        tracing::debug!(error = %err, "open data: TLS handshake failed");
                        return;
                    }
                },
                None => http.serve_connection(TokioIo::new(stream), service).await,
            };
            if let Err(err) = served {
                tracing::debug!(error = %err, "open data connection ended");
            }
        });
    }
}

/// JSON or XML, as the path's extension asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Json,
    Xml,
    Csv,
}

fn split_format(path: &str) -> Option<(&str, Format)> {
    for (ext, f) in [
        (".json", Format::Json),
        (".xml", Format::Xml),
        (".csv", Format::Csv),
    ] {
        if let Some(stem) = path.strip_suffix(ext) {
            return Some((stem, f));
        }
    }
    None
}

async fn answer<S: Store, B>(hotline: &Hotline<S>, request: Request<B>) -> Response<Full<Bytes>> {
    let path = request.uri().path().to_string();
    let query = request.uri().query().unwrap_or_default().to_string();
    let (stem, format) = split_format(&path).unwrap_or((path.as_str(), Format::Json));
    if request.method() != Method::GET && request.method() != Method::HEAD {
        return error(
            format,
            StatusCode::METHOD_NOT_ALLOWED,
            "read-only: GET only",
        );
    }
    let parts: Vec<&str> = stem.trim_start_matches('/').split('/').collect();
    let result = match (parts.as_slice(), format) {
        (["open311", "v2", "services"], Format::Json | Format::Xml) => {
            services(hotline, format).await
        }
        (["open311", "v2", "services", code], Format::Json | Format::Xml) => {
            service_definition(hotline, code, format).await
        }
        (["open311", "v2", "requests"], Format::Json | Format::Xml) => match parse_query(&query) {
            Ok(q) => hotline
                .open311_requests(q)
                .await
                .map(|list| requests(&list, format)),
            Err(why) => return error(format, StatusCode::BAD_REQUEST, &why),
        },
        (["open311", "v2", "requests", id], Format::Json | Format::Xml) => hotline
            .open311_request(&decode(id))
            .await
            .map(|one| requests(&[one], format)),
        (["open-data", year, month], Format::Json | Format::Csv) => {
            match (year.parse::<i32>(), month.parse::<u32>()) {
                (Ok(y), Ok(m)) => hotline
                    .open_data_month(y, m)
                    .await
                    .map(|rows| month_export(&rows, format)),
                _ => return error(format, StatusCode::NOT_FOUND, "no such month"),
            }
        }
        _ => return error(format, StatusCode::NOT_FOUND, "no such resource"),
    };
    match result {
        Ok(response) => response,
        Err(AppError::Domain(crate::domain::DomainError::NotFound(what))) => {
            error(format, StatusCode::NOT_FOUND, &format!("{what} not found"))
        }
        Err(AppError::Domain(e)) => error(format, StatusCode::BAD_REQUEST, &e.to_string()),
        Err(other) => {
            tracing::error!(error = %other, "open data request failed");
            error(format, StatusCode::INTERNAL_SERVER_ERROR, "internal error")
        }
    }
}

/// Percent-decoding of a URL component (`+` as a space, as forms write it); a `%` not followed
/// by two hex digits stays as it is.
fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'+', _) => out.push(b' '),
            (b'%', Some(b)) => {
                out.push(b);
                i += 2;
            }
            (b, _) => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// GeoReport v2's query parameters.
fn parse_query(query: &str) -> Result<RequestQuery, String> {
    let mut q = RequestQuery::default();
    let list = |v: &str| -> Vec<String> {
        v.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()
    };
    let date = |name: &str, v: &str| -> Result<DateTime<Utc>, String> {
        DateTime::parse_from_rfc3339(v)
            .map(|d| d.with_timezone(&Utc))
            .map_err(|_| format!("{name}: `{v}` is not a W3C date and time"))
    };
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let value = decode(value);
        match decode(key).as_str() {
            "service_request_id" => q.ids = list(&value),
            "service_code" => q.services = list(&value),
            "status" => {
                let wanted = list(&value);
                let open = wanted.iter().any(|s| s == "open");
                let closed = wanted.iter().any(|s| s == "closed");
                if wanted.iter().any(|s| s != "open" && s != "closed") {
                    return Err(format!("status: `{value}`: open, closed or both"));
                }
                q.open = match (open, closed) {
                    (true, false) => Some(true),
                    (false, true) => Some(false),
                    _ => None,
                };
            }
            "start_date" => q.start = Some(date("start_date", &value)?),
            "end_date" => q.end = Some(date("end_date", &value)?),
            // Accepted and ignored: one jurisdiction per hub.
            "jurisdiction_id" | "api_key" => {}
            other => return Err(format!("unknown parameter `{other}`")),
        }
    }
    Ok(q)
}

fn respond(status: StatusCode, content_type: &str, body: String) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("content-type", content_type)
        .header("access-control-allow-origin", "*")
        .body(Full::new(Bytes::from(body)))
        .expect("a valid response")
}

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

/// An error in GeoReport v2's format.
fn error(format: Format, status: StatusCode, description: &str) -> Response<Full<Bytes>> {
    let code = status.as_u16();
    match format {
        Format::Xml => respond(
            status,
            "text/xml; charset=utf-8",
            format!(
                "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<errors><error><code>{code}</code>\
                 <description>{}</description></error></errors>\n",
                xml_escape(description)
            ),
        ),
        _ => respond(
            status,
            "application/json; charset=utf-8",
            json!([{ "code": code, "description": description }]).to_string(),
        ),
    }
}

/// Objects as JSON, or as XML elements named `item` inside `root`.
fn render(
    format: Format,
    root: &str,
    item: &str,
    objects: &[Vec<(&str, Value)>],
) -> Response<Full<Bytes>> {
    match format {
        Format::Xml => {
            let mut out = format!("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<{root}>");
            for fields in objects {
                let _ = write!(out, "<{item}>");
                for (name, value) in fields {
                    let text = match value {
                        Value::String(s) => s.clone(),
                        Value::Null => continue,
                        Value::Array(items) => items
                            .iter()
                            .filter_map(|v| v.as_str().map(str::to_string))
                            .collect::<Vec<_>>()
                            .join(","),
                        other => other.to_string(),
                    };
                    let _ = write!(out, "<{name}>{}</{name}>", xml_escape(&text));
                }
                let _ = write!(out, "</{item}>");
            }
            let _ = writeln!(out, "</{root}>");
            respond(StatusCode::OK, "text/xml; charset=utf-8", out)
        }
        _ => {
            let list: Vec<Value> = objects
                .iter()
                .map(|fields| {
                    Value::Object(
                        fields
                            .iter()
                            .filter(|(_, v)| !v.is_null())
                            .map(|(k, v)| (k.to_string(), v.clone()))
                            .collect(),
                    )
                })
                .collect();
            respond(
                StatusCode::OK,
                "application/json; charset=utf-8",
                Value::Array(list).to_string(),
            )
        }
    }
}

async fn services<S: Store>(
    hotline: &Hotline<S>,
    format: Format,
) -> Result<Response<Full<Bytes>>, AppError> {
    let list = hotline.open311_services().await?;
    let objects: Vec<Vec<(&str, Value)>> = list
        .iter()
        .map(|(c, group)| {
            vec![
                ("service_code", json!(c.code)),
                ("service_name", json!(c.name)),
                ("description", json!(c.name)),
                ("metadata", json!(false)),
                ("type", json!("realtime")),
                ("keywords", json!(c.code.replace('.', " "))),
                ("group", json!(group)),
            ]
        })
        .collect();
    Ok(render(format, "services", "service", &objects))
}

async fn service_definition<S: Store>(
    hotline: &Hotline<S>,
    code: &str,
    format: Format,
) -> Result<Response<Full<Bytes>>, AppError> {
    let code = decode(code);
    let known = hotline
        .open311_services()
        .await?
        .iter()
        .any(|(c, _)| c.code == code);
    if !known {
        return Err(crate::domain::DomainError::NotFound(format!("service {code}")).into());
    }
    // No service has attributes (metadata is false for all): the definition lists none.
    Ok(match format {
        Format::Xml => respond(
            StatusCode::OK,
            "text/xml; charset=utf-8",
            format!(
                "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<service_definition><service_code>{}\
                 </service_code><attributes></attributes></service_definition>\n",
                xml_escape(&code)
            ),
        ),
        _ => respond(
            StatusCode::OK,
            "application/json; charset=utf-8",
            json!({ "service_code": code, "attributes": [] }).to_string(),
        ),
    })
}

fn request_fields(r: &PublicRequest) -> Vec<(&'static str, Value)> {
    vec![
        ("service_request_id", json!(r.number)),
        ("status", json!(if r.open { "open" } else { "closed" })),
        ("status_notes", json!(r.status_notes)),
        ("service_name", json!(r.category_name)),
        ("service_code", json!(r.category_code)),
        (
            "description",
            if r.description.is_empty() {
                Value::Null
            } else {
                json!(r.description)
            },
        ),
        ("agency_responsible", json!(r.agencies.join("; "))),
        ("service_notice", json!("")),
        ("requested_datetime", json!(time(r.requested))),
        ("updated_datetime", json!(time(r.updated))),
        ("expected_datetime", json!(time(r.expected))),
        ("address", json!(r.address)),
    ]
}

fn requests(list: &[PublicRequest], format: Format) -> Response<Full<Bytes>> {
    let objects: Vec<Vec<(&str, Value)>> = list.iter().map(request_fields).collect();
    render(format, "service_requests", "request", &objects)
}

/// The monthly export: one row per appeal.
fn month_export(rows: &[PublicRequest], format: Format) -> Response<Full<Bytes>> {
    let fields = |r: &PublicRequest| -> Vec<(&'static str, String)> {
        vec![
            ("id", r.number.clone()),
            ("received_at", time(r.requested)),
            ("section", r.section_code.clone()),
            ("subject", r.category_code.clone()),
            ("subject_name", r.category_name.clone()),
            ("settlement", r.settlement.clone()),
            ("district", r.district.clone()),
            ("channel", r.channel.clone()),
            ("outcome", r.outcome.clone()),
            ("closed_at", r.closed.map(time).unwrap_or_default()),
        ]
    };
    match format {
        Format::Csv => respond(
            StatusCode::OK,
            "text/csv; charset=utf-8",
            month_csv(rows, fields),
        ),
        _ => {
            let list: Vec<Value> = rows
                .iter()
                .map(|r| {
                    Value::Object(
                        fields(r)
                            .into_iter()
                            .map(|(k, v)| (k.to_string(), Value::String(v)))
                            .collect(),
                    )
                })
                .collect();
            respond(
                StatusCode::OK,
                "application/json; charset=utf-8",
                Value::Array(list).to_string(),
            )
        }
    }
}

/// The monthly export as CSV (header first).
pub fn month_csv(
    rows: &[PublicRequest],
    fields: impl Fn(&PublicRequest) -> Vec<(&'static str, String)>,
) -> String {
    let quote = |v: &str| {
        if v.contains([',', '"', '\n', '\r']) {
            format!("\"{}\"", v.replace('"', "\"\""))
        } else {
            v.to_string()
        }
    };
    let mut out = String::new();
    let header: Vec<&str> = fields(&PublicRequest {
        number: String::new(),
        open: false,
        status_notes: String::new(),
        category_code: String::new(),
        category_name: String::new(),
        section_code: String::new(),
        description: String::new(),
        agencies: Vec::new(),
        requested: DateTime::<Utc>::MIN_UTC,
        updated: DateTime::<Utc>::MIN_UTC,
        expected: DateTime::<Utc>::MIN_UTC,
        closed: None,
        address: String::new(),
        settlement: String::new(),
        district: String::new(),
        channel: String::new(),
        outcome: String::new(),
    })
    .into_iter()
    .map(|(k, _)| k)
    .collect();
    let _ = writeln!(out, "{}", header.join(","));
    for r in rows {
        let values: Vec<String> = fields(r).into_iter().map(|(_, v)| quote(&v)).collect();
        let _ = writeln!(out, "{}", values.join(","));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_decode_and_check() {
        assert_eq!(decode("a%2Cb+c"), "a,b c");
        assert_eq!(decode("100%"), "100%");
        let q =
            parse_query("service_code=07.01,07.02&status=open&start_date=2026-11-01T00%3A00%3A00Z")
                .unwrap();
        assert_eq!(q.services, ["07.01", "07.02"]);
        assert_eq!(q.open, Some(true));
        assert!(q.start.is_some());
        assert!(parse_query("status=lost").is_err());
        assert!(parse_query("start_date=yesterday").is_err());
        assert!(
            parse_query("name=x")
                .unwrap_err()
                .contains("unknown parameter")
        );
    }
}
