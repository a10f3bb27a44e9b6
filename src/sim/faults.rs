//! Scenario faults: which call of a method gets which trouble.

use super::scenario::FaultSpec;
use super::twirp::Method;

/// The faults of a scenario, each with the range of calls of its method that it hits.
#[derive(Debug, Default)]
pub struct Faults {
    // (fault, number of calls of its method before its first one)
    faults: Vec<(FaultSpec, u64)>,
}

impl Faults {
    /// Lines the faults of each method up one after another, in scenario order.
    pub fn new(specs: &[FaultSpec]) -> Faults {
        let mut taken = [0u64; Method::ALL.len()];
        let faults = specs
            .iter()
            .map(|spec| {
                let slot = &mut taken[spec.method.index()];
                let start = *slot;
                *slot += u64::from(spec.times);
                (spec.clone(), start)
            })
            .collect();
        Faults { faults }
    }

    /// The fault for the `call`-th call (1-based) of `method`, if any.
    pub fn for_call(&self, method: Method, call: u64) -> Option<&FaultSpec> {
        self.faults
            .iter()
            .find(|(spec, start)| {
                spec.method == method && call > *start && call <= start + u64::from(spec.times)
            })
            .map(|(spec, _)| spec)
    }

    /// What is left of each fault after `calls[m]` calls of each method, as scenario faults.
    pub fn remaining(&self, calls: &[u64; Method::ALL.len()]) -> Vec<FaultSpec> {
        self.faults
            .iter()
            .filter_map(|(spec, start)| {
                let used = calls[spec.method.index()].saturating_sub(*start);
                let left = u64::from(spec.times).saturating_sub(used);
                (left > 0).then(|| FaultSpec {
                    times: left as u32,
                    ..spec.clone()
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn faults() -> Faults {
        let specs: Vec<FaultSpec> = serde_json::from_str(
            r#"[{"method": "ListRooms", "code": "unavailable", "times": 2},
                {"method": "StopEgress", "delay_ms": 10},
                {"method": "ListRooms", "garbage": true}]"#,
        )
        .unwrap();
        Faults::new(&specs)
    }

    #[test]
    fn faults_of_one_method_take_turns() {
        let faults = faults();
        let garbage = |call| faults.for_call(Method::ListRooms, call).map(|f| f.garbage);
        assert_eq!(garbage(1), Some(false));
        assert_eq!(garbage(2), Some(false));
        assert_eq!(garbage(3), Some(true));
        assert_eq!(garbage(4), None);
        assert!(faults.for_call(Method::StopEgress, 1).is_some());
        assert!(faults.for_call(Method::DeleteRoom, 1).is_none());
    }

    #[test]
    fn remaining_counts_down() {
        let faults = faults();
        let mut calls = [0; Method::ALL.len()];
        calls[Method::ListRooms.index()] = 1;
        let left = faults.remaining(&calls);
        assert_eq!(left.len(), 3);
        assert_eq!(left[0].times, 1);
        calls[Method::ListRooms.index()] = 3;
        calls[Method::StopEgress.index()] = 1;
        assert!(faults.remaining(&calls).is_empty());
    }
}
