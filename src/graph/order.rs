//! The one dependency-ordered scheduler: which work may start now, given what has
//! finished. Evaluation (validate's order, plan and apply's concurrent walk) runs it
//! over the graph's nodes; destroy runs it over resource blocks with the edges
//! reversed, so a block is destroyed only after everything depending on it is gone.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;

/// Work items and the edges between them (`dependency → dependent`): an item is
/// ready once every dependency it has among the items is done. Items on a cycle never
/// become ready.
pub struct Ready<K> {
    /// Per item not ready yet, how many of its dependencies are not done.
    waiting: HashMap<K, usize>,
    dependents: HashMap<K, Vec<K>>,
    ready: VecDeque<K>,
}

impl<K: Clone + Eq + Hash> Ready<K> {
    /// `items` in the order ties are broken in (first ready first); edges to or from
    /// anything not among `items` are ignored.
    pub fn new(items: Vec<K>, edges: impl IntoIterator<Item = (K, K)>) -> Ready<K> {
        let mut waiting: HashMap<K, usize> = items.iter().map(|k| (k.clone(), 0)).collect();
        let mut dependents: HashMap<K, Vec<K>> = HashMap::new();
        for (dependency, dependent) in edges {
            if !waiting.contains_key(&dependency) {
                continue;
            }
            let Some(n) = waiting.get_mut(&dependent) else {
                continue;
            };
            *n += 1;
            dependents.entry(dependency).or_default().push(dependent);
        }
        let ready = items.into_iter().filter(|k| waiting[k] == 0).collect();
        waiting.retain(|_, n| *n > 0);
        Ready {
            waiting,
            dependents,
            ready,
        }
    }

    /// The item ready longest.
    pub fn pop_front(&mut self) -> Option<K> {
        self.ready.pop_front()
    }

    /// The item ready most recently (a depth-first order).
    pub fn pop_back(&mut self) -> Option<K> {
        self.ready.pop_back()
    }

    /// Every item ready now.
    pub fn take_all(&mut self) -> Vec<K> {
        self.ready.drain(..).collect()
    }

    /// Marks `item` done: its dependents whose last dependency it was become ready.
    pub fn done(&mut self, item: &K) {
        for next in self.dependents.remove(item).unwrap_or_default() {
            if let Some(n) = self.waiting.get_mut(&next) {
                *n -= 1;
                if *n == 0 {
                    self.waiting.remove(&next);
                    self.ready.push_back(next);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_become_ready_when_their_dependencies_are_done() {
        // a → b → d, a → c → d, e alone, f ↔ g a cycle.
        let edges = [
            ("a", "b"),
            ("a", "c"),
            ("b", "d"),
            ("c", "d"),
            ("f", "g"),
            ("g", "f"),
            ("x", "a"),
        ];
        let mut r = Ready::new(vec!["a", "b", "c", "d", "e", "f", "g"], edges);
        assert_eq!(r.take_all(), ["a", "e"]);
        r.done(&"a");
        assert_eq!(r.pop_front(), Some("b"));
        r.done(&"b");
        // d still waits for c.
        assert_eq!(r.take_all(), ["c"]);
        r.done(&"c");
        assert_eq!(r.take_all(), ["d"]);
        r.done(&"d");
        // The cycle never becomes ready.
        assert_eq!(r.pop_back(), None);
    }
}
