// Who takes part in a call, as ACS identifies them, and their raw ids.
//
//   CommunicationUserIdentifier   "8:acs:<resource>_<uuid>" (also 8:spool:, 8:dod-acs:, 8:gcch-acs:)
//   PhoneNumberIdentifier         "4:<E.164 number>" ("4:+14255550123"), phoneNumber "+14255550123"
//   CallingApplicationIdentifier  "28:<application id>"
//   UnknownIdentifier             any other raw id, kept as it is
//
// identifierFromRawId and rawIdOf convert exactly as the ACS SDKs do, so raw ids can be stored and
// exchanged with ACS tooling. Plain values: copy them freely, from any thread.
#pragma once

#include <string>
#include <string_view>
#include <variant>

namespace calling {

struct CommunicationUserIdentifier {
    std::string communicationUserId;
    bool operator==(const CommunicationUserIdentifier&) const = default;
};

struct PhoneNumberIdentifier {
    std::string phoneNumber;  // E.164 with the leading '+'
    bool operator==(const PhoneNumberIdentifier&) const = default;
};

struct CallingApplicationIdentifier {
    std::string callingApplicationId;
    bool operator==(const CallingApplicationIdentifier&) const = default;
};

struct UnknownIdentifier {
    std::string id;
    bool operator==(const UnknownIdentifier&) const = default;
};

using CommunicationIdentifier = std::variant<CommunicationUserIdentifier, PhoneNumberIdentifier,
                                             CallingApplicationIdentifier, UnknownIdentifier>;

CommunicationIdentifier identifierFromRawId(std::string_view rawId);
std::string rawIdOf(const CommunicationIdentifier& identifier);

}  // namespace calling
