//! Work spread over a bounded number of threads: the one pool every parallel step uses
//! (fetching packs, asking sources for versions, warming metadata, flushing files), so the
//! bound and the first-error rule live in one place.

use std::sync::Mutex;

/// Run `f` on every item on at most `width` threads. Stops handing out items after the first
/// error, which it returns (items already running finish).
pub fn try_for_each<T: Sync, E: Send>(
    items: &[T],
    width: usize,
    f: impl Fn(&T) -> Result<(), E> + Sync,
) -> Result<(), E> {
    if items.len() <= 1 || width <= 1 {
        return items.iter().try_for_each(f);
    }
    let next = Mutex::new(0usize);
    let failure: Mutex<Option<E>> = Mutex::new(None);
    std::thread::scope(|scope| {
        for _ in 0..width.min(items.len()) {
            scope.spawn(|| {
                loop {
                    if failure.lock().expect("failure lock").is_some() {
                        return;
                    }
                    let i = {
                        let mut n = next.lock().expect("queue lock");
                        let i = *n;
                        *n += 1;
                        i
                    };
                    let Some(item) = items.get(i) else {
                        return;
                    };
                    if let Err(e) = f(item) {
                        failure.lock().expect("failure lock").get_or_insert(e);
                        return;
                    }
                }
            });
        }
    });
    match failure.into_inner().expect("failure lock") {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[test]
    fn every_item_runs_once_on_at_most_width_threads() {
        let items: Vec<usize> = (0..100).collect();
        let running = AtomicUsize::new(0);
        let most = AtomicUsize::new(0);
        let sum = AtomicUsize::new(0);
        try_for_each(&items, 3, |i| {
            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
            most.fetch_max(now, Ordering::SeqCst);
            std::thread::sleep(std::time::Duration::from_millis(1));
            sum.fetch_add(*i, Ordering::SeqCst);
            running.fetch_sub(1, Ordering::SeqCst);
            Ok::<(), ()>(())
        })
        .unwrap();
        assert_eq!(sum.load(Ordering::SeqCst), (0..100).sum::<usize>());
        assert!(most.load(Ordering::SeqCst) <= 3);
    }

    #[test]
    fn the_first_error_stops_the_rest() {
        let items: Vec<usize> = (0..1000).collect();
        let ran = AtomicUsize::new(0);
        let err = try_for_each(&items, 4, |i| {
            ran.fetch_add(1, Ordering::SeqCst);
            if *i == 10 { Err(*i) } else { Ok(()) }
        });
        assert_eq!(err, Err(10));
        assert!(ran.load(Ordering::SeqCst) < 1000);
    }
}
