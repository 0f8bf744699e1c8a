//! A router that remembers its paths, so that the list of routes is the router's own and
//! tests can go through every one of them (the card guard's table test does): a new route
//! is in the list by being in the router.

use axum::Router;
use axum::routing::MethodRouter;

/// An axum [`Router`] and the paths routed in it, in the order they were added.
#[derive(Debug)]
pub struct Routes<S> {
    router: Router<S>,
    paths: Vec<String>,
}

impl<S: Clone + Send + Sync + 'static> Routes<S> {
    pub fn new() -> Routes<S> {
        Routes {
            router: Router::new(),
            paths: Vec::new(),
        }
    }

    pub fn route(self, path: &str, method_router: MethodRouter<S>) -> Routes<S> {
        let mut paths = self.paths;
        paths.push(path.to_owned());
        Routes {
            router: self.router.route(path, method_router),
            paths,
        }
    }

    /// `other`'s routes under `prefix`.
    pub fn nest(self, prefix: &str, other: Routes<S>) -> Routes<S> {
        let mut paths = self.paths;
        paths.extend(other.paths.iter().map(|p| format!("{prefix}{p}")));
        Routes {
            router: self.router.nest(prefix, other.router),
            paths,
        }
    }

    pub fn merge(self, other: Routes<S>) -> Routes<S> {
        let mut paths = self.paths;
        paths.extend(other.paths);
        Routes {
            router: self.router.merge(other.router),
            paths,
        }
    }

    /// The router changed by `f` (a layer over the routes so far), the paths kept.
    pub fn map(self, f: impl FnOnce(Router<S>) -> Router<S>) -> Routes<S> {
        Routes {
            router: f(self.router),
            paths: self.paths,
        }
    }

    pub fn paths(&self) -> &[String] {
        &self.paths
    }

    pub fn into_router(self) -> Router<S> {
        self.router
    }
}

impl<S: Clone + Send + Sync + 'static> Default for Routes<S> {
    fn default() -> Routes<S> {
        Routes::new()
    }
}
