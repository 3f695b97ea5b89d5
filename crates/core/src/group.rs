//! Group commit of issuances: many issuances share one database transaction, each inside its
//! own savepoint, and nobody is answered before that transaction is committed.
//!
//! Every commit costs a durable write (an fsync on SQLite, a WAL flush on PostgreSQL) and a
//! few round trips; under load, issuances arrive faster than one commit each can be made
//! durable. The adapters queue [`Job`]s, take what is waiting with [`next_batch`] and run it
//! with [`commit_group`]. The rules of each issuance are still [`crate::commit::issue`]; what
//! an adapter supplies is only its transaction and savepoints ([`GroupTx`]).
//!
//! An issuance that is refused or fails rolls back to its savepoint and undoes only itself; a
//! commit that fails answers every issuance of the group with the error (none of them is
//! stored, and none was acknowledged).

use crate::store::{IssueCommit, IssueOutcome, StoreError};
use async_trait::async_trait;
use tokio::sync::{mpsc, oneshot};

/// Where an issuance's outcome goes once its group is committed (or has failed).
pub type Reply = oneshot::Sender<Result<IssueOutcome, StoreError>>;

/// An issuance waiting for its group.
pub type Job = (IssueCommit, Reply);

/// An adapter's open transaction, as the group committer needs it.
#[async_trait]
pub trait GroupTx: Send {
    /// Runs [`crate::commit::issue`] inside a savepoint of this transaction: released when
    /// the outcome is `Issued`, rolled back otherwise (and on error), so that anything but a
    /// stored credential leaves nothing behind.
    async fn issue_in_savepoint(&mut self, c: &IssueCommit) -> Result<IssueOutcome, StoreError>;

    /// Commits the transaction (durably: an answer follows).
    async fn commit(self) -> Result<(), StoreError>;
}

/// Waits for one job, then takes whatever else is already queued, up to `max` in all. `None`
/// once every sender is gone.
pub async fn next_batch(rx: &mut mpsc::Receiver<Job>, max: usize) -> Option<Vec<Job>> {
    let first = rx.recv().await?;
    let mut batch = vec![first];
    while batch.len() < max {
        match rx.try_recv() {
            Ok(job) => batch.push(job),
            Err(_) => break,
        }
    }
    Some(batch)
}

/// Runs `batch` on the transaction `begun` and answers every job once the outcome is final.
pub async fn commit_group<T: GroupTx>(begun: Result<T, StoreError>, batch: Vec<Job>) {
    let mut tx = match begun {
        Ok(tx) => tx,
        Err(e) => {
            for (_, reply) in batch {
                let _ = reply.send(Err(e.clone()));
            }
            return;
        }
    };
    let mut answers = Vec::with_capacity(batch.len());
    for (commit, reply) in batch {
        let outcome = tx.issue_in_savepoint(&commit).await;
        answers.push((outcome, reply));
    }
    match tx.commit().await {
        Ok(()) => {
            for (outcome, reply) in answers {
                let _ = reply.send(outcome);
            }
        }
        Err(e) => {
            for (_, reply) in answers {
                let _ = reply.send(Err(e.clone()));
            }
        }
    }
}

/// Sends `commit` to a group committer's queue and waits for its outcome.
pub async fn submit(
    queue: &mpsc::Sender<Job>,
    commit: IssueCommit,
) -> Result<IssueOutcome, StoreError> {
    let (reply, answer) = oneshot::channel();
    queue
        .send((commit, reply))
        .await
        .map_err(|_| StoreError::Unavailable("the issuance committer has stopped".into()))?;
    answer
        .await
        .map_err(|_| StoreError::Internal("the issuance committer dropped a request".into()))?
}
