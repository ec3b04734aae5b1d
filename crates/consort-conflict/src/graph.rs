//! The small graph algorithms precedence claims need, over nodes numbered
//! `0..n` with adjacency lists.

use std::collections::{BTreeSet, VecDeque};

/// Strongly connected components (Kosaraju, iterative so deep chains cannot
/// overflow the stack). Components come out in a deterministic order; only
/// their membership matters to callers.
pub(crate) fn strongly_connected(adjacency: &[Vec<usize>]) -> Vec<Vec<usize>> {
    let n = adjacency.len();
    let mut visited = vec![false; n];
    let mut finished = Vec::with_capacity(n);
    for start in 0..n {
        if visited[start] {
            continue;
        }
        visited[start] = true;
        let mut stack = vec![(start, 0_usize)];
        while let Some((node, next)) = stack.last_mut() {
            match adjacency[*node].get(*next) {
                Some(&child) => {
                    *next += 1;
                    if !visited[child] {
                        visited[child] = true;
                        stack.push((child, 0));
                    }
                }
                None => {
                    finished.push(*node);
                    stack.pop();
                }
            }
        }
    }

    let mut reverse = vec![Vec::new(); n];
    for (from, targets) in adjacency.iter().enumerate() {
        for &to in targets {
            reverse[to].push(from);
        }
    }
    let mut assigned = vec![false; n];
    let mut components = Vec::new();
    for &start in finished.iter().rev() {
        if assigned[start] {
            continue;
        }
        assigned[start] = true;
        let mut component = Vec::new();
        let mut stack = vec![start];
        while let Some(node) = stack.pop() {
            component.push(node);
            for &prev in &reverse[node] {
                if !assigned[prev] {
                    assigned[prev] = true;
                    stack.push(prev);
                }
            }
        }
        components.push(component);
    }
    components
}

/// A shortest path from `from` to `to` over `edges` (`(from, to)` pairs),
/// as indices into `edges`; `None` when `to` cannot be reached.
pub(crate) fn path(
    edges: &[(usize, usize)],
    n: usize,
    from: usize,
    to: usize,
) -> Option<Vec<usize>> {
    // Breadth-first with the edge used to reach each node.
    let mut reached_by: Vec<Option<usize>> = vec![None; n];
    let mut seen = vec![false; n];
    seen[from] = true;
    let mut queue = VecDeque::from([from]);
    while let Some(node) = queue.pop_front() {
        if node == to {
            let mut path = Vec::new();
            let mut at = to;
            while let Some(edge) = reached_by[at] {
                path.push(edge);
                at = edges[edge].0;
            }
            path.reverse();
            return Some(path);
        }
        for (index, &(a, b)) in edges.iter().enumerate() {
            if a == node && !seen[b] {
                seen[b] = true;
                reached_by[b] = Some(index);
                queue.push_back(b);
            }
        }
    }
    None
}

/// Nodes `0..n` in an order that respects `edges`, smallest node first among
/// those ready; `edges` must be acyclic.
pub(crate) fn topological_order(edges: &[(usize, usize)], n: usize) -> Vec<usize> {
    let mut incoming = vec![0_usize; n];
    for &(_, b) in edges {
        incoming[b] += 1;
    }
    let mut ready: BTreeSet<usize> = (0..n).filter(|&v| incoming[v] == 0).collect();
    let mut order = Vec::with_capacity(n);
    while let Some(node) = ready.pop_first() {
        order.push(node);
        for &(a, b) in edges {
            if a == node {
                incoming[b] -= 1;
                if incoming[b] == 0 {
                    ready.insert(b);
                }
            }
        }
    }
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sorted(mut components: Vec<Vec<usize>>) -> Vec<Vec<usize>> {
        for c in &mut components {
            c.sort_unstable();
        }
        components.sort();
        components
    }

    #[test]
    fn finds_cycles_and_singletons() {
        // 0 -> 1 -> 2 -> 0, 2 -> 3, 3 -> 4 -> 3
        let adjacency = vec![vec![1], vec![2], vec![0, 3], vec![4], vec![3]];
        assert_eq!(
            sorted(strongly_connected(&adjacency)),
            vec![vec![0, 1, 2], vec![3, 4]]
        );
        let chain = vec![vec![1], vec![2], vec![]];
        assert_eq!(
            sorted(strongly_connected(&chain)),
            vec![vec![0], vec![1], vec![2]]
        );
    }

    #[test]
    fn paths_and_orders() {
        let edges = [(0, 1), (1, 2), (0, 2), (3, 0)];
        assert_eq!(path(&edges, 4, 0, 2), Some(vec![2]));
        assert_eq!(path(&edges, 4, 3, 2), Some(vec![3, 2]));
        assert_eq!(path(&edges, 4, 2, 0), None);
        assert_eq!(topological_order(&edges, 4), vec![3, 0, 1, 2]);
    }
}
