//! Pages of long lists for the JSON protocols. The service layer answers a whole list; a client
//! asks for it a page at a time (`MaxResults`/`NextToken`, KMS's `Limit`/`Marker`). A token is
//! the last item's identity (opaque, base64url), not a position, so an item added or removed
//! between two pages neither repeats nor skips the others; a token whose item is gone, or that
//! this server never gave, is refused with the service's own code rather than read as "start
//! again".

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::json_protocol::coded;
use crate::service::{Result, ServiceError};

/// How one list is paged: its largest page, the page when the client names none, and the
/// error code its service gives a bad token.
#[derive(Debug, Clone, Copy)]
pub struct Paging {
    pub max: usize,
    pub default: usize,
    pub bad_token: &'static str,
    pub members: Members,
}

/// The request members that carry a page's size and token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Members {
    /// `MaxResults` and `NextToken` (Glue, Athena, Secrets Manager).
    MaxResults,
    /// `Limit` and `Marker` (KMS).
    Limit,
    /// `MaxItems` and `Marker` (IAM's query protocol, which reads its form itself).
    MaxItems,
    /// `maxResults` and `nextToken` (Macie2, in the body or, for its GET lists, the query).
    CamelMaxResults,
}

impl Members {
    pub fn names(self) -> (&'static str, &'static str) {
        match self {
            Members::MaxResults => ("MaxResults", "NextToken"),
            Members::Limit => ("Limit", "Marker"),
            Members::MaxItems => ("MaxItems", "Marker"),
            Members::CamelMaxResults => ("maxResults", "nextToken"),
        }
    }
}

/// Glue's lists (`MaxResults`/`NextToken`); Glue's largest page is 1,000 for most of them.
pub const GLUE: Paging = Paging {
    max: 1000,
    default: 100,
    bad_token: "InvalidInputException",
    members: Members::MaxResults,
};

/// Glue's catalog lists (GetDatabases, GetTables), whose largest page is 100.
pub const GLUE_CATALOG: Paging = Paging {
    max: 100,
    default: 100,
    bad_token: "InvalidInputException",
    members: Members::MaxResults,
};

/// Glue's GetJobRuns, whose largest page is 200.
pub const GLUE_JOB_RUNS: Paging = Paging {
    max: 200,
    default: 100,
    bad_token: "InvalidInputException",
    members: Members::MaxResults,
};

/// KMS's lists (`Limit`/`Marker`, answered with `NextMarker` and `Truncated`).
pub const KMS: Paging = Paging {
    max: 1000,
    default: 100,
    bad_token: "InvalidMarkerException",
    members: Members::Limit,
};

/// Athena's lists.
pub const ATHENA: Paging = Paging {
    max: 50,
    default: 50,
    bad_token: "InvalidRequestException",
    members: Members::MaxResults,
};

/// Secrets Manager's ListSecrets.
pub const SECRETS: Paging = Paging {
    max: 100,
    default: 100,
    bad_token: "InvalidNextTokenException",
    members: Members::MaxResults,
};

/// Lake Formation's lists (ListPermissions, ListLFTags, ListDataCellsFilter, ListResources).
pub const LAKE_FORMATION: Paging = Paging {
    max: 1000,
    default: 100,
    bad_token: "InvalidInputException",
    members: Members::MaxResults,
};

/// Macie2's lists (findings, classification jobs, custom data identifiers, allow lists);
/// ListFindings and ListClassificationJobs take at most 1,000 a page, the others 25.
pub const MACIE: Paging = Paging {
    max: 1000,
    default: 50,
    bad_token: "ValidationException",
    members: Members::CamelMaxResults,
};

/// Macie2's ListCustomDataIdentifiers and ListAllowLists.
pub const MACIE_SMALL: Paging = Paging {
    max: 25,
    default: 25,
    bad_token: "ValidationException",
    members: Members::CamelMaxResults,
};

/// One page of a list and the token for the next, if there is more.
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<String>,
}

impl Paging {
    /// The page of `items` after `token`, at most `limit` (or the default) long. `id` names an
    /// item uniquely within the list.
    pub fn page<T>(
        self,
        items: Vec<T>,
        id: impl Fn(&T) -> &str,
        limit: Option<usize>,
        token: Option<&str>,
    ) -> Result<Page<T>> {
        let size = limit.unwrap_or(self.default);
        if !(1..=self.max).contains(&size) {
            return Err(ServiceError::invalid(format!(
                "the page size must be 1 to {}, not {size}",
                self.max
            )));
        }
        let start = match token {
            None => 0,
            Some(token) => {
                let after = URL_SAFE_NO_PAD
                    .decode(token)
                    .ok()
                    .and_then(|b| String::from_utf8(b).ok());
                match after.and_then(|a| items.iter().position(|i| id(i) == a)) {
                    Some(at) => at + 1,
                    None => {
                        return Err(coded(
                            self.bad_token,
                            "the token is not one this server gave, or its item is gone; list from the start",
                        ));
                    }
                }
            }
        };
        let more = items.len() > start + size;
        let items: Vec<T> = items.into_iter().skip(start).take(size).collect();
        let next = if more {
            items.last().map(|last| URL_SAFE_NO_PAD.encode(id(last)))
        } else {
            None
        };
        Ok(Page { items, next })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGING: Paging = Paging {
        max: 3,
        default: 2,
        bad_token: "InvalidNextTokenException",
        members: Members::MaxResults,
    };

    fn names(from: &[&str]) -> Vec<String> {
        from.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn pages_follow_the_last_item_so_a_change_between_pages_skips_and_repeats_nothing() {
        let first = PAGING
            .page(
                names(&["a", "b", "c", "d", "e"]),
                String::as_str,
                None,
                None,
            )
            .unwrap();
        assert_eq!(first.items, ["a", "b"]);
        let token = first.next.unwrap();
        // "a" removed and "bb" added before the next page: it starts after "b" all the same.
        let second = PAGING
            .page(
                names(&["b", "bb", "c", "d", "e"]),
                String::as_str,
                Some(3),
                Some(&token),
            )
            .unwrap();
        assert_eq!(second.items, ["bb", "c", "d"]);
        let last = PAGING
            .page(
                names(&["b", "bb", "c", "d", "e"]),
                String::as_str,
                Some(3),
                second.next.as_deref(),
            )
            .unwrap();
        assert_eq!(last.items, ["e"]);
        assert!(last.next.is_none());
    }

    #[test]
    fn a_forged_or_stale_token_and_a_bad_size_are_refused() {
        let list = names(&["a", "b"]);
        for token in ["not base64 !", "Zm9yZ2Vk" /* "forged" */] {
            let e = PAGING
                .page(list.clone(), String::as_str, None, Some(token))
                .err()
                .unwrap();
            assert_eq!(e.aws_code.as_deref(), Some("InvalidNextTokenException"));
        }
        for size in [0, 4] {
            assert!(
                PAGING
                    .page(list.clone(), String::as_str, Some(size), None)
                    .is_err_and(|e| e.message.contains("1 to 3"))
            );
        }
        // A list that fits one page has no token.
        let all = PAGING.page(list, String::as_str, None, None).unwrap();
        assert!(all.next.is_none());
    }
}
