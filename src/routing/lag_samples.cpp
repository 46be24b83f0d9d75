#include "routing/lag_samples.hpp"

namespace shardroute::routing {

WalSenderState walsender_state(std::string_view state) noexcept {
    return state == "streaming"  ? WalSenderState::streaming
           : state == "catchup"  ? WalSenderState::catchup
           : state == "backup"   ? WalSenderState::backup
           : state == "stopping" ? WalSenderState::stopping
                                 : WalSenderState::startup;
}

std::vector<PrimaryGroup> group_standbys(const topology::Topology &t) {
    std::map<std::string, PrimaryGroup> by_primary;
    for (const auto &n : t.nodes) {
        if (!n.is_standby())
            continue;
        PrimaryGroup &g = by_primary[*n.primary_node];
        g.primary = *n.primary_node;
        g.standbys.push_back({n.name, n.replication_name()});
    }
    std::vector<PrimaryGroup> out;
    for (auto &[primary, g] : by_primary) {
        g.in_catalog = t.find_node(primary) != nullptr;
        out.push_back(std::move(g));
    }
    return out;
}

std::string round_problem(const std::vector<PrimaryGroup> &groups, bool conninfo_valid, size_t max_samples) {
    size_t nstandbys = 0;
    for (const auto &g : groups)
        nstandbys += g.standbys.size();
    std::string problem = conninfo_valid ? "" : "shardroute.lag_monitor_conninfo is invalid (see the log)";
    // the others have no sample (lag unknown), and standby_status() says why
    if (nstandbys > max_samples)
        problem += (problem.empty() ? "" : "; ") + std::string("the catalog has ") + std::to_string(nstandbys) +
                   " standbys: the lag monitor samples the first " + std::to_string(max_samples) + " of them only";
    return problem;
}

std::vector<Ask> plan_round(const std::vector<PrimaryGroup> &groups, const std::map<std::string, NodeState> &nodes) {
    auto state = [&nodes](const std::string &name) {
        auto it = nodes.find(name);
        return it != nodes.end() ? it->second : NodeState{};
    };
    std::vector<Ask> asks;
    for (const auto &g : groups) {
        if (g.in_catalog)
            asks.push_back({g.primary, Query::primary});
        bool ask_standbys = !g.in_catalog || !state(g.primary).healthy;
        for (const auto &sb : g.standbys)
            if (ask_standbys || state(sb.name).querying)
                asks.push_back({sb.name, Query::standby});
    }
    return asks;
}

PolledSample primary_sample(const PrimaryAnswer &a, std::string_view replication_name) {
    PolledSample s;
    s.source = SampleSource::primary;
    s.current_lsn = a.current_lsn;
    for (const auto &row : a.rows) {
        if (!row.application_name || *row.application_name != replication_name)
            continue;
        if (s.present && s.streaming)
            break;
        s.present = true;
        s.streaming = row.state == "streaming";
        s.state = walsender_state(row.state);
        s.sent_lsn = row.sent_lsn;
        s.flush_lsn = row.flush_lsn;
        s.replay_lsn = row.replay_lsn;
        s.replay_lag_us = row.replay_lag_us;
        s.reply_age_us = row.reply_age_us;
    }
    return s;
}

PolledSample standby_sample(const StandbyAnswer &a) {
    PolledSample s;
    s.source = SampleSource::standby;
    if (!a.has_row)
        return s;
    s.present = a.in_recovery;
    s.streaming = a.in_recovery;
    s.state_text = !a.in_recovery ? "not in recovery" : a.receiver_status ? *a.receiver_status : "no wal receiver";
    s.sent_lsn = a.receive_lsn;
    s.replay_lsn = a.replay_lsn;
    s.current_lsn = s.sent_lsn ? s.sent_lsn : s.replay_lsn;
    s.replay_lag_us = s.replay_lsn != 0 && s.replay_lsn == s.sent_lsn ? 0 : a.replay_age_us;
    if (s.sent_lsn == 0)
        s.sent_lsn = s.replay_lsn; // never streamed: only the replay timestamp speaks
    return s;
}

RoundOutcome merge_round(const std::vector<PrimaryGroup> &groups, const std::map<std::string, NodePoll> &polls,
                         const ServerIdentity &self) {
    RoundOutcome out;
    auto local_samples = [&out](const PrimaryGroup &g) {
        for (const auto &sb : g.standbys) {
            PolledSample s;
            s.source = SampleSource::local;
            out.samples[sb.name] = s;
        }
    };
    for (const auto &g : groups) {
        auto pe = polls.find(g.primary);
        if (pe != polls.end() && pe->second.this_server && g.in_catalog) {
            local_samples(g);
            continue;
        }
        if (pe != polls.end() && pe->second.answered == Query::primary) {
            const PrimaryAnswer &a = pe->second.primary;
            if (a.rows.empty())
                continue; // says nothing: the standbys keep their samples
            bool here = a.server == self;
            out.this_server[g.primary] = here;
            if (here) {
                local_samples(g);
                continue;
            }
            for (const auto &sb : g.standbys)
                out.samples[sb.name] = primary_sample(a, sb.replication_name);
            continue;
        }
        std::string primary_error = pe != polls.end() ? pe->second.error : "not in the catalog";
        for (const auto &sb : g.standbys) {
            auto se = polls.find(sb.name);
            if (se != polls.end() && se->second.answered == Query::standby)
                out.samples[sb.name] = standby_sample(se->second.standby);
            else if (se != polls.end() && !se->second.error.empty())
                out.notes[sb.name] = "primary: " + primary_error + "; standby: " + se->second.error;
            else if (!primary_error.empty())
                out.notes[sb.name] = "primary: " + primary_error;
        }
    }
    return out;
}

std::vector<Publication> plan_publication(const topology::Topology &t, const RoundOutcome &round, size_t max_samples) {
    std::vector<Publication> out;
    for (const auto &node : t.nodes) {
        if (!node.is_standby() || out.size() >= max_samples)
            continue;
        Publication p;
        p.standby = node.name;
        auto it = round.samples.find(node.name);
        if (it != round.samples.end()) {
            p.fresh = it->second;
        } else {
            auto n = round.notes.find(node.name);
            if (n != round.notes.end())
                p.note = n->second;
        }
        out.push_back(std::move(p));
    }
    return out;
}

} // namespace shardroute::routing
